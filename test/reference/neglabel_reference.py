"""NegLabel written from the paper's formulas in numpy, independent of advood's code (src/detectors/neglabel.ts)
(Jiang et al., ICLR 2024: NegMining, Eq. 3-4, and the grouping strategy of its Sec. 3.4).

NegMining, per part of speech: s_j = the q-quantile (linear interpolation) over the ID labels c of cos(t_j, t_c);
keep the floor(fraction * n) words of lowest s_j. Negatives: the kept nouns, then the kept adjectives.
Grouping: the negatives in the given order `permutation` (the first M - M mod G of them), cut into G equal groups.
Score: S(x) = mean_g  sum_{c in ID} e^{cos(x, t_c)/T} / (sum_{c in ID} e^{cos(x, t_c)/T} + sum_{j in g} e^{cos(x, t_j)/T}).

usage: python neglabel_reference.py IN.json OUT.json
IN: {"id": [[...]], "nouns": [[...]], "adjectives": [[...]], "images": [[...]], "fraction": f, "percentile": q,
     "groups": G, "temperature": T, "permutation": [...]}
OUT: {"scores": [...], "nouns": [kept noun indices], "adjectives": [kept adjective indices]}
"""
import json
import sys

import numpy as np


def unit(rows):
    rows = np.asarray(rows, dtype=np.float64)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def mine(candidates, id_labels, fraction, percentile):
    s = np.quantile(candidates @ id_labels.T, percentile, axis=1)  # numpy's default method is 'linear'
    return np.argsort(s, kind="stable")[: int(np.floor(len(candidates) * fraction))]


def main():
    with open(sys.argv[1]) as f:
        given = json.load(f)
    id_labels, nouns, adjectives, images = (unit(given[k]) for k in ("id", "nouns", "adjectives", "images"))
    kept_nouns = mine(nouns, id_labels, given["fraction"], given["percentile"])
    kept_adjectives = mine(adjectives, id_labels, given["fraction"], given["percentile"])
    negatives = np.concatenate([nouns[kept_nouns], adjectives[kept_adjectives]])
    groups = negatives[np.asarray(given["permutation"])].reshape(given["groups"], -1, negatives.shape[1])
    t = given["temperature"]
    id_mass = np.exp(images @ id_labels.T / t).sum(axis=1)  # [N]; logits are at most 1/T: e^100 is far from overflow
    neg_mass = np.exp(np.einsum("nd,gkd->ngk", images, groups) / t).sum(axis=2)  # [N, G]
    scores = (id_mass[:, None] / (id_mass[:, None] + neg_mass)).mean(axis=1)
    with open(sys.argv[2], "w") as f:
        json.dump({"scores": scores.tolist(), "nouns": kept_nouns.tolist(), "adjectives": kept_adjectives.tolist()}, f)


if __name__ == "__main__":
    sys.exit(main())
