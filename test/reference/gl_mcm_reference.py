"""GL-MCM written from the paper's formula in numpy, independent of advood's code (src/detectors/gl-mcm.ts):
S(x) = max_c softmax(cos(g, t_c) / T) + lambda * max_p max_c softmax(cos(l_p, t_c) / T)
(Miyai et al. 2023; their utils/detection_util.py get_ood_scores_clip, with the sign flipped: higher = more ID).

usage: python gl_mcm_reference.py IN.json OUT.json
IN: {"images": [[[global], [patch 1], ...], ...], "text": [[...], ...], "temperature": T, "lambda": L}; OUT: {"scores": [...]}
"""
import json
import sys

import numpy as np


def main():
    with open(sys.argv[1]) as f:
        given = json.load(f)
    images = np.asarray(given["images"], dtype=np.float64)  # [N, 1 + P, D]
    text = np.asarray(given["text"], dtype=np.float64)  # [C, D]
    images = images / np.linalg.norm(images, axis=-1, keepdims=True)
    text = text / np.linalg.norm(text, axis=-1, keepdims=True)
    logits = images @ text.T / given["temperature"]  # [N, 1 + P, C]
    logits -= logits.max(axis=-1, keepdims=True)
    p = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    msp = p.max(axis=-1)  # [N, 1 + P]
    scores = msp[:, 0] + given["lambda"] * msp[:, 1:].max(axis=1)
    with open(sys.argv[2], "w") as f:
        json.dump({"scores": scores.tolist()}, f)


if __name__ == "__main__":
    sys.exit(main())
