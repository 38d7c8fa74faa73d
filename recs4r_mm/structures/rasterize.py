"""Fill and Rect of contour polygons: the one place that turns vertices into a mask or a box."""
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

_SHIFT = 8  # cv2 fixed-point bits: vertices are rasterised with 1/256 px precision


def _fill(canvas: np.ndarray, contours: Sequence[np.ndarray]) -> None:
    """Fill each contour (pixel-edge units) into ``canvas`` (uint8) by pixel-centre sampling."""
    pts = []
    for c in contours:
        c = np.asarray(c, dtype=np.float64)
        if c.ndim != 2 or c.shape[0] < 3:
            continue
        # pixel (r, c) covers [c, c+1] x [r, r+1]; cv2 samples pixel centres at integers
        pts.append(np.round((c - 0.5) * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2))
    if pts:
        cv2.fillPoly(canvas, pts, 1, lineType=cv2.LINE_8, shift=_SHIFT)


def polygons_to_mask(parts: List[Dict], out_hw: Tuple[int, int]) -> np.ndarray:
    """Fill = union over parts of (outer minus its holes).

    Args:
        parts: list of ``dict(outer=(N, 2) xy, holes=[(M, 2), ...])`` in pixel units of an image
            of size ``out_hw``.
        out_hw: ``(H, W)`` of the output mask.

    Returns:
        ``(H, W)`` bool mask; all False when ``parts`` is empty.
    """
    h, w = int(out_hw[0]), int(out_hw[1])
    out = np.zeros((h, w), dtype=bool)
    if h <= 0 or w <= 0:
        return out
    outer = np.zeros((h, w), dtype=np.uint8)
    hole = np.zeros((h, w), dtype=np.uint8)
    for part in parts:
        outer[:] = 0
        _fill(outer, [part['outer']])
        holes = part.get('holes') or []
        if holes:
            hole[:] = 0
            for hl in holes:
                _fill(hole, [hl])
            out |= (outer > 0) & (hole == 0)
        else:
            out |= outer > 0
    return out


def polygons_to_box(parts: List[Dict]) -> np.ndarray:
    """Rect = min/max over all outer vertices, ``(4,)`` float32 xyxy; zeros when empty."""
    pts = [np.asarray(p['outer'], dtype=np.float64).reshape(-1, 2) for p in parts]
    pts = [p for p in pts if p.size]
    if not pts:
        return np.zeros(4, dtype=np.float32)
    allp = np.concatenate(pts, axis=0)
    return np.concatenate([allp.min(0), allp.max(0)]).astype(np.float32)
