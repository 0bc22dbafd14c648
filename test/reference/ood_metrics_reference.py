"""Numpy-only reference for advood's OOD metrics (sklearn is not installed here).

Follows sklearn 1.x's own algorithm step by step: `_binary_clf_curve` (stable descending sort, one point per
distinct score), `roc_curve(drop_intermediate=False)` + `auc` (trapezoid), `average_precision_score`
(-sum(diff(recall) * precision[:-1])), and FPR at the first threshold where TPR >= 0.95.
Reads JSON {"cases": [{"id": [...], "ood": [...]}]} on stdin, writes JSON metrics on stdout.
"""
import json
import sys

import numpy as np


def binary_clf_curve(y_true, y_score):
    order = np.argsort(y_score, kind="mergesort")[::-1]
    y_score = y_score[order]
    y_true = y_true[order]
    distinct = np.where(np.diff(y_score))[0]
    threshold_idxs = np.r_[distinct, y_true.size - 1]
    tps = np.cumsum(y_true)[threshold_idxs]
    fps = 1 + threshold_idxs - tps
    return fps.astype(float), tps.astype(float), y_score[threshold_idxs]


def metrics(id_scores, ood_scores):
    y_true = np.r_[np.ones(len(id_scores)), np.zeros(len(ood_scores))]
    y_score = np.r_[id_scores, ood_scores].astype(float)
    fps, tps, _ = binary_clf_curve(y_true, y_score)
    fpr = np.r_[0, fps] / fps[-1]
    tpr = np.r_[0, tps] / tps[-1]
    # numpy 2 renamed trapz to trapezoid (and removed trapz in 2.4); the same rule either way.
    trapezoid = getattr(np, "trapezoid", None) or np.trapz
    auroc = float(trapezoid(tpr, fpr))
    fpr95 = float(fpr[np.searchsorted(tpr, 0.95, side="left")])

    def average_precision(y, s):
        f, t, _ = binary_clf_curve(y, s)
        precision = t / (t + f)
        recall = t / t[-1]
        # sklearn reverses so recall is decreasing and appends (precision 1, recall 0)
        precision = np.r_[precision[::-1], 1]
        recall = np.r_[recall[::-1], 0]
        return float(-np.sum(np.diff(recall) * precision[:-1]))

    aupr_in = average_precision(y_true, y_score)
    aupr_out = average_precision(1 - y_true, -y_score)
    return {"auroc": auroc, "fpr95": fpr95, "auprIn": aupr_in, "auprOut": aupr_out}


def main():
    request = json.load(sys.stdin)
    out = [metrics(np.asarray(c["id"], float), np.asarray(c["ood"], float)) for c in request["cases"]]
    json.dump({"results": out}, sys.stdout)


if __name__ == "__main__":
    main()
