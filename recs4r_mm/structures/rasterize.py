"""Fill and Rect of contour polygons: the one place that turns vertices into a mask or a box.

Fill samples pixel centres: pixel ``(r, c)`` (covering ``[c, c+1] x [r, r+1]``) is inside a
contour when its centre ``(c + 0.5, r + 0.5)`` is (even-odd rule, half-open scanline crossings),
so a contour traced along pixel edges fills back to exactly its mask, at any output size.

RECS4R (CVPR 2026), Key Design 1: Mask = Fill(P), Box = Rect(P); docs/design.md §4.
"""
from typing import Dict, List, Tuple

import numpy as np


def _fill_contour(points, h: int, w: int) -> np.ndarray:
    """Even-odd fill of one closed contour ``(N, 2)`` xy (pixel units) -> (H, W) bool."""
    out = np.zeros((h, w), dtype=bool)
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if p.shape[0] < 3 or not np.isfinite(p).all():
        return out
    r0 = max(int(np.floor(p[:, 1].min() - 0.5)), 0)
    r1 = min(int(np.ceil(p[:, 1].max() - 0.5)) + 1, h)
    if r1 <= r0:
        return out
    x0, y0 = p[:, 0], p[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    yc = np.arange(r0, r1, dtype=np.float64)[:, None] + 0.5  # (R, 1) scanline centres
    cross = (y0[None] <= yc) != (y1[None] <= yc)  # (R, E) half-open rule
    dy = np.where(y1 == y0, 1.0, y1 - y0)
    xs = x0[None] + (yc - y0[None]) * ((x1 - x0) / dy)[None]
    xs = np.where(cross, xs, np.inf)
    xs.sort(axis=1)
    a, b = xs[:, 0::2], xs[:, 1::2]
    n = min(a.shape[1], b.shape[1])
    a, b = a[:, :n], b[:, :n]
    valid = np.isfinite(a) & np.isfinite(b)
    # pixel c is inside the span [a, b) when a <= c + 0.5 < b
    start = np.clip(np.ceil(a - 0.5), 0, w).astype(np.int64)
    end = np.clip(np.ceil(b - 0.5), 0, w).astype(np.int64)
    rows = np.broadcast_to(np.arange(r1 - r0)[:, None], a.shape)
    diff = np.zeros((r1 - r0, w + 1), dtype=np.int32)
    np.add.at(diff, (rows[valid], start[valid]), 1)
    np.add.at(diff, (rows[valid], end[valid]), -1)
    out[r0:r1] = np.cumsum(diff[:, :w], axis=1) > 0
    return out


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
    out = np.zeros((max(h, 0), max(w, 0)), dtype=bool)
    if h <= 0 or w <= 0:
        return out
    for part in parts:
        fill = _fill_contour(part['outer'], h, w)
        for hole in part.get('holes') or []:
            fill &= ~_fill_contour(hole, h, w)
        out |= fill
    return out


def polygons_to_box(parts: List[Dict]) -> np.ndarray:
    """Rect = min/max over all outer vertices, ``(4,)`` float32 xyxy; zeros when empty."""
    pts = [np.asarray(p['outer'], dtype=np.float64).reshape(-1, 2) for p in parts]
    pts = [p for p in pts if p.size]
    if not pts:
        return np.zeros(4, dtype=np.float32)
    allp = np.concatenate(pts, axis=0)
    return np.concatenate([allp.min(0), allp.max(0)]).astype(np.float32)
