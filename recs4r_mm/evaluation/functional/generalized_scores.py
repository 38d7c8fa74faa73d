"""GREC box scoring (gRefCOCO, He et al. 2023): predicted boxes matched one-to-one to the GT
boxes at IoU >= 0.5, F1 = 2TP / (K + N); a sample is correct when F1 == 1."""
import numpy as np
from scipy.optimize import linear_sum_assignment


def box_iou_matrix(pred, gt) -> np.ndarray:
    """IoU of every pair of continuous xyxy boxes (no +1; a pair with zero union has IoU 0).

    Args:
        pred (array-like): (K, 4) boxes.
        gt (array-like): (N, 4) boxes.

    Returns:
        np.ndarray: (K, N) float64.
    """
    p = np.asarray(pred, dtype=np.float64).reshape(-1, 4)
    g = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    p_area = np.clip(p[:, 2] - p[:, 0], 0, None) * np.clip(p[:, 3] - p[:, 1], 0, None)
    g_area = np.clip(g[:, 2] - g[:, 0], 0, None) * np.clip(g[:, 3] - g[:, 1], 0, None)
    iw = np.minimum(p[:, None, 2], g[None, :, 2]) - np.maximum(p[:, None, 0], g[None, :, 0])
    ih = np.minimum(p[:, None, 3], g[None, :, 3]) - np.maximum(p[:, None, 1], g[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = p_area[:, None] + g_area[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def count_matches(iou: np.ndarray, thr: float = 0.5) -> int:
    """Size of the largest one-to-one matching whose pairs all have IoU >= ``thr``.

    Optimal (Hungarian on the 0/1 "IoU >= thr" matrix), so never fewer matches than the
    official GREC greedy (highest IoU first).

    Args:
        iou (np.ndarray): (K, N) IoU matrix.
        thr (float): match threshold.

    Returns:
        int: TP, the number of matched pairs.
    """
    iou = np.asarray(iou, dtype=np.float64)
    if iou.size == 0:
        return 0
    ok = (iou >= thr - 1e-12).astype(np.float64)
    rows, cols = linear_sum_assignment(ok, maximize=True)
    return int(ok[rows, cols].sum())


def f1_score(num_tp: int, num_pred: int, num_gt: int) -> float:
    """F1 = 2TP / (K + N) = 2TP / (2TP + FP + FN); 1.0 when K == N == 0 (no target, none
    predicted)."""
    if num_pred + num_gt == 0:
        return 1.0
    return 2.0 * num_tp / (num_pred + num_gt)
