"""How well a confidence score ranks and predicts correctness: AUROC (Mann-Whitney), the
reliability table (equal-width score bins vs observed accuracy) and the expected calibration
error. Scores are probabilities in [0, 1]; ``correct`` is a 0/1 (bool) per sample."""
from typing import List, Optional

import numpy as np


def auroc(scores, correct) -> Optional[float]:
    """Area under the ROC curve of ``scores`` for ``correct`` vs not: the probability that a
    correct sample scores higher than a wrong one, ties counted half (Mann-Whitney U / (P * N)).

    Args:
        scores (array-like): (S, ) scores.
        correct (array-like): (S, ) bool.

    Returns:
        float | None: in [0, 1]; None when all samples are correct or all wrong.
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    c = np.asarray(correct, dtype=bool).reshape(-1)
    num_pos = int(c.sum())
    num_neg = c.size - num_pos
    if num_pos == 0 or num_neg == 0:
        return None
    # average 1-based ranks, tied scores share the mean of their ranks
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    first = np.cumsum(counts) - counts  # 0-based rank of each unique value's first sample
    ranks = (first + (counts + 1) / 2.0)[inverse]
    u = ranks[c].sum() - num_pos * (num_pos + 1) / 2.0
    return float(u / (num_pos * num_neg))


def reliability_table(scores, correct, num_bins: int = 10) -> List[dict]:
    """Equal-width score bins over [0, 1]: bin k holds scores in [k/B, (k+1)/B) (the last one
    also holds 1.0; scores outside [0, 1] go to the end bins). A score within 1e-6 bin widths
    below an edge counts as on it (float32 0.7 is 0.69999999).

    Args:
        scores (array-like): (S, ) scores.
        correct (array-like): (S, ) bool.
        num_bins (int): B.

    Returns:
        list[dict]: B rows ``dict(lo, hi, n, mean_score, accuracy)``; ``mean_score`` and
        ``accuracy`` (fractions) are None for an empty bin.
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    c = np.asarray(correct, dtype=bool).reshape(-1)
    idx = np.clip(np.floor(s * num_bins + 1e-6), 0, num_bins - 1).astype(np.int64)
    rows = []
    for k in range(num_bins):
        sel = idx == k
        n = int(sel.sum())
        rows.append(dict(lo=k / num_bins, hi=(k + 1) / num_bins, n=n,
                         mean_score=float(s[sel].mean()) if n else None,
                         accuracy=float(c[sel].mean()) if n else None))
    return rows


def expected_calibration_error(table: List[dict]) -> Optional[float]:
    """ECE = sum over bins of (n_b / S) * |accuracy_b - mean_score_b|.

    Args:
        table (list[dict]): rows of :func:`reliability_table`.

    Returns:
        float | None: in [0, 1]; None when the table holds no sample.
    """
    total = sum(r['n'] for r in table)
    if total == 0:
        return None
    return float(sum(r['n'] / total * abs(r['accuracy'] - r['mean_score'])
                     for r in table if r['n']))
