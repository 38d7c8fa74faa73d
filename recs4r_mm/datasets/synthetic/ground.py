"""Overhead-style background: textured fields, tree clumps and roads.

The ground is muted (greens, browns, greys) so that the saturated object
colours of ``colors.py`` stay distinguishable; it carries no referents.

No paper part; docs/synthetic_data.md, section "Scenes" (Ground).
"""
import math
from dataclasses import dataclass
from typing import List, Tuple

import cv2
import numpy as np

#: muted land-cover tones (RGB)
LAND_TONES = np.array([
    (92, 118, 62), (108, 128, 70), (78, 104, 58), (128, 124, 82),
    (142, 128, 92), (118, 104, 76), (100, 112, 84), (136, 138, 96),
], np.float32)
ROAD_TONE = np.array((118, 116, 112), np.float32)
TREE_TONE = np.array((44, 70, 38), np.float32)


@dataclass
class Road:
    """A straight road from ``p0`` to ``p1`` (xy, pixels), ``width`` px wide."""
    p0: Tuple[float, float]
    p1: Tuple[float, float]
    width: int

    @property
    def angle(self) -> float:
        return math.atan2(self.p1[1] - self.p0[1], self.p1[0] - self.p0[0])


def _smooth_noise(rng, size: int, cells: int) -> np.ndarray:
    """Value noise in [-1, 1], (size, size) float32, ``cells`` cells across."""
    grid = rng.uniform(-1, 1, (cells + 1, cells + 1)).astype(np.float32)
    return cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)


def _fields(rng, size: int) -> np.ndarray:
    """Rotated grid of parcels, each a land tone, some with furrow stripes."""
    ang = rng.uniform(0, math.pi)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    u = xs * math.cos(ang) + ys * math.sin(ang)
    v = -xs * math.sin(ang) + ys * math.cos(ang)
    n_u = int(rng.integers(2, 5))
    n_v = int(rng.integers(2, 5))
    span = size * 1.5
    cuts_u = np.sort(rng.uniform(-span, span, n_u * 2))
    cuts_v = np.sort(rng.uniform(-span, span, n_v * 2))
    iu = np.searchsorted(cuts_u, u)
    iv = np.searchsorted(cuts_v, v)
    parcel = iu * (len(cuts_v) + 1) + iv
    n_parcels = (len(cuts_u) + 1) * (len(cuts_v) + 1)
    tones = LAND_TONES[rng.integers(0, len(LAND_TONES), n_parcels)]
    tones = tones + rng.normal(0, 6, tones.shape).astype(np.float32)
    img = tones[parcel]
    # furrows inside some parcels
    furrowed = rng.random(n_parcels) < 0.45
    period = rng.uniform(2.5, 5.0, n_parcels).astype(np.float32)
    stripes = np.sin(2 * math.pi * u / period[parcel]) * 7.0
    img += (stripes * furrowed[parcel])[..., None]
    return img


def _trees(rng, img: np.ndarray) -> None:
    size = img.shape[0]
    n_clumps = int(rng.integers(1, 4))
    canvas = np.zeros((size, size), np.uint8)
    for _ in range(n_clumps):
        cx, cy = rng.uniform(0, size, 2)
        n = int(rng.integers(4, 14)) * max(1, size // 128)
        spread = rng.uniform(0.04, 0.1) * size
        for x, y in zip(rng.normal(cx, spread, n), rng.normal(cy, spread, n)):
            r = max(1, int(round(rng.uniform(0.008, 0.018) * size)))
            cv2.circle(canvas, (int(x), int(y)), r, 1, -1, cv2.LINE_8)
    m = canvas.astype(bool)
    img[m] = TREE_TONE + rng.normal(0, 8, (int(m.sum()), 3)).astype(np.float32)


def _roads(rng, img: np.ndarray) -> List[Road]:
    size = img.shape[0]
    roads = []
    for i in range(int(rng.choice([0, 1, 1, 2, 2]))):
        w = max(2, int(round(rng.uniform(0.025, 0.045) * size)))
        # a line through a random interior point, roughly horizontal/vertical
        c = rng.uniform(0.15, 0.85, 2) * size
        ang = (i % 2) * math.pi / 2 + rng.uniform(-0.35, 0.35) + \
            (math.pi / 2 if rng.random() < 0.5 else 0.0)
        d = np.array([math.cos(ang), math.sin(ang)]) * size * 1.5
        p0, p1 = c - d, c + d
        canvas = np.zeros((size, size), np.uint8)
        cv2.line(canvas, tuple(int(v) for v in p0), tuple(int(v) for v in p1),
                 1, w, cv2.LINE_8)
        m = canvas.astype(bool)
        img[m] = ROAD_TONE + rng.normal(0, 5, (int(m.sum()), 3)).astype(np.float32)
        if w >= 5:  # faint centre line
            cl = np.zeros_like(canvas)
            cv2.line(cl, tuple(int(v) for v in p0), tuple(int(v) for v in p1), 1, 1)
            img[cl.astype(bool)] += 28
        roads.append(Road((float(p0[0]), float(p0[1])), (float(p1[0]), float(p1[1])), w))
    return roads


def render_ground(rng, size: int) -> Tuple[np.ndarray, List[Road]]:
    """Background image (size, size, 3) float32 RGB in [0, 255] and its roads."""
    img = _fields(rng, size)
    img += (_smooth_noise(rng, size, max(2, size // 24)) * 10)[..., None]
    _trees(rng, img)
    roads = _roads(rng, img)
    img += rng.normal(0, 3.0, img.shape).astype(np.float32)
    return np.clip(img, 0, 255), roads
