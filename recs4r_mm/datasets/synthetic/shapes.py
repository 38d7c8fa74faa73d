"""Object categories and their rasterised shapes.

Each category draws one object as a tight local binary mask plus a ``detail``
mask (a subset of it: court lines, roof edges, deck lines) painted in an
accent tone. Sizes scale with the image (``k = image_size / 128``) with pixel
floors so every category still has its shape at 64 px. ``draw_shape`` re-draws
until the mask falls into the category's shape family (see ``families.py``).

No paper part; docs/synthetic_data.md, section "Scenes" (Objects, and the family table).
"""
import math
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .families import classify_mask, measure_mask


@dataclass
class Shape:
    """A drawn object: ``mask``/``detail`` (h, w) bool, local coordinates."""
    mask: np.ndarray
    detail: np.ndarray
    attrs: Dict[str, object] = field(default_factory=dict)
    angle: float = 0.0  # orientation of the long axis, radians


@dataclass(frozen=True)
class Category:
    name: str
    family: str
    draw: Callable  # (rng, image_size, angle) -> Shape
    sizeable: bool = True  # may be called "large"/"small" among its kind
    expected_parts: int = 1


def _rot(pts: np.ndarray, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return pts @ np.array([[c, s], [-s, c]], dtype=np.float64)


def _crop(mask: np.ndarray, detail: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    rows = np.flatnonzero(mask.any(1))
    cols = np.flatnonzero(mask.any(0))
    if rows.size == 0:
        return mask[:0, :0], detail[:0, :0]
    sl = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    return mask[sl], detail[sl] & mask[sl]


def _fill_polys(polys: Sequence[np.ndarray],
                lines: Sequence[Tuple[np.ndarray, int]] = (),
                detail_polys: Sequence[np.ndarray] = ()):
    """Rasterise polygons (float xy, already rotated) and detail polylines."""
    allpts = np.concatenate(polys, 0)
    origin = np.floor(allpts.min(0)) - 1
    w, h = (np.ceil(allpts.max(0)) - origin + 2).astype(int)
    mask = np.zeros((h, w), np.uint8)
    detail = np.zeros((h, w), np.uint8)

    def fix(p):  # 4 fractional bits for sub-pixel accurate rasterisation
        return np.round((p - origin) * 16).astype(np.int32).reshape(-1, 1, 2)

    for p in polys:
        cv2.fillPoly(mask, [fix(p)], 1, cv2.LINE_8, 4)
    for p in detail_polys:
        cv2.fillPoly(detail, [fix(p)], 1, cv2.LINE_8, 4)
    for p, thick in lines:
        cv2.polylines(detail, [fix(p)], False, 1, thick, cv2.LINE_8, 4)
    return _crop(mask.astype(bool), detail.astype(bool))


def _grid(half: float, angle: float, rng) -> Tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates of a square canvas, in the shape's frame."""
    n = int(math.ceil(2 * half)) + 3
    off = rng.uniform(-0.5, 0.5, size=2)  # random sub-pixel placement
    xs = np.arange(n) + 0.5 - n / 2 + off[0]
    ys = np.arange(n) + 0.5 - n / 2 + off[1]
    x, y = np.meshgrid(xs, ys)
    c, s = math.cos(angle), math.sin(angle)
    return x * c + y * s, -x * s + y * c


def _rect(length: float, width: float) -> np.ndarray:
    l2, w2 = length / 2, width / 2
    return np.array([[-l2, -w2], [l2, -w2], [l2, w2], [-l2, w2]], np.float64)


def _angle(rng, angle: Optional[float]) -> float:
    return float(rng.uniform(0, math.pi)) if angle is None else float(angle)


# --- tiny -------------------------------------------------------------------
def draw_vehicle(rng, size: int, angle=None) -> Shape:
    k = size / 128
    w = max(2.0, rng.uniform(2.0, 3.2) * k)
    length = max(w + 1.0, 3.0, rng.uniform(3.2, 6.0) * k)
    a = _angle(rng, angle)
    m, d = _fill_polys([_rot(_rect(length, w), a)])
    return Shape(m, d, {}, a)


# --- elongated --------------------------------------------------------------
def draw_ship(rng, size: int, angle=None) -> Shape:
    length = rng.uniform(0.16, 0.30) * size
    w = max(3.0, length * rng.uniform(0.13, 0.19))
    length = max(length, 4.2 * w)
    a = _angle(rng, angle) + (math.pi if rng.random() < 0.5 else 0.0)
    l2, w2 = length / 2, w / 2
    hull = np.array([[-l2, -w2], [0.25 * length, -w2], [l2, 0],
                     [0.25 * length, w2], [-l2, w2]])
    lines = []
    if w >= 5:
        lines.append((_rot(np.array([[-0.38 * length, 0], [0.12 * length, 0]]), a), 1))
    m, d = _fill_polys([_rot(hull, a)], lines)
    return Shape(m, d, {}, a)


def draw_bridge(rng, size: int, angle=None) -> Shape:
    w = max(3.0, rng.uniform(0.035, 0.06) * size)
    length = max(rng.uniform(0.2, 0.36) * size, 3.8 * w)
    a = _angle(rng, angle)
    lines = []
    if w >= 5:
        for v in (-(w / 2 - 1), w / 2 - 1):
            lines.append((_rot(np.array([[-length / 2, v], [length / 2, v]]), a), 1))
    m, d = _fill_polys([_rot(_rect(length, w), a)], lines)
    return Shape(m, d, {}, a)


# --- non-convex -------------------------------------------------------------
def _outline(mask: np.ndarray) -> np.ndarray:
    er = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8),
                   borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return mask & ~er.astype(bool)


def draw_building(rng, size: int, angle=None) -> Shape:
    kind = ('l-shaped', 't-shaped', 'u-shaped')[int(rng.integers(3))]
    a_ = max(8.0, rng.uniform(0.11, 0.2) * size)
    b_ = a_ * rng.uniform(0.8, 1.25)
    t = max(3.0, rng.uniform(0.3, 0.42) * min(a_, b_))
    a_ = max(a_, 2 * t + 2.5)
    if kind == 'l-shaped':
        p = [[0, 0], [a_, 0], [a_, t], [t, t], [t, b_], [0, b_]]
    elif kind == 't-shaped':
        x0, x1 = (a_ - t) / 2, (a_ + t) / 2
        p = [[0, 0], [a_, 0], [a_, t], [x1, t], [x1, b_], [x0, b_], [x0, t], [0, t]]
    else:
        p = [[0, 0], [t, 0], [t, b_ - t], [a_ - t, b_ - t], [a_ - t, 0], [a_, 0],
             [a_, b_], [0, b_]]
    p = np.array(p, np.float64) - [a_ / 2, b_ / 2]
    ang = float(rng.uniform(0, 2 * math.pi)) if angle is None else float(angle)
    m, _ = _fill_polys([_rot(p, ang)])
    d = _outline(m) if t >= 6 else np.zeros_like(m)
    return Shape(m, d, {'shape': kind}, ang)


def draw_airplane(rng, size: int, angle=None) -> Shape:
    f = rng.uniform(0.15, 0.25) * size
    fw = max(2.5, 0.11 * f)
    span = f * rng.uniform(0.85, 1.05)
    chord = max(2.5, 0.17 * f)
    sweep = 0.14 * f
    tail_span, tail_chord = 0.38 * f, max(2.0, 0.1 * f)
    f2 = f / 2
    fus = np.array([[-f2, -fw / 2], [f2 - fw, -fw / 2], [f2, 0],
                    [f2 - fw, fw / 2], [-f2, fw / 2]])
    x0 = 0.06 * f

    def wing(xc, half_span, c, sw):
        one = np.array([[xc + c / 2, 0], [xc + c / 2 - sw, half_span],
                        [xc + c / 2 - sw - 0.55 * c, half_span], [xc - c / 2, 0]])
        return [one, one * [1, -1]]

    polys = [fus] + wing(x0, span / 2, chord, sweep) + \
        wing(-f2 + tail_chord, tail_span / 2, tail_chord, 0.35 * sweep)
    a = float(rng.uniform(0, 2 * math.pi)) if angle is None else float(angle)
    lines = [(_rot(np.array([[-0.4 * f, 0], [0.35 * f, 0]]), a), 1)] if fw >= 4.5 else []
    m, d = _fill_polys([_rot(p, a) for p in polys], lines)
    return Shape(m, d, {}, a)


# --- with holes -------------------------------------------------------------
def draw_storage_tank(rng, size: int, angle=None) -> Shape:
    r_out = max(5.0, rng.uniform(0.045, 0.085) * size)
    r_in = float(np.clip(r_out * rng.uniform(0.4, 0.6), 2.2, r_out - 2.2))
    x, y = _grid(r_out, 0.0, rng)
    d = np.hypot(x, y)
    m = (d <= r_out) & (d >= r_in)
    det = (d >= r_in) & (d < r_in + 1.0) if r_out - r_in >= 4 else np.zeros_like(m)
    m, det = _crop(m, det)
    return Shape(m, det, {}, 0.0)


def draw_track_field(rng, size: int, angle=None) -> Shape:
    r = max(6.0, rng.uniform(0.06, 0.095) * size)
    hl = r * rng.uniform(0.5, 1.0)
    w = float(np.clip(r * rng.uniform(0.28, 0.4), 2.2, r - 2.6))
    a = _angle(rng, angle)
    u, v = _grid(hl + r, a, rng)
    d = np.hypot(np.maximum(np.abs(u) - hl, 0.0), v)  # distance to the axis segment
    m = (d <= r) & (d >= r - w)
    det = np.abs(d - (r - w / 2)) < 0.5 if w >= 5 else np.zeros_like(m)
    m, det = _crop(m, det)
    return Shape(m, det, {}, a)


# --- multi-part -------------------------------------------------------------
def draw_tank_pair(rng, size: int, angle=None) -> Shape:
    r = max(3.0, rng.uniform(0.03, 0.05) * size)
    gap = max(2.5, r * rng.uniform(0.3, 0.9))
    a = _angle(rng, angle)
    c = r + gap / 2
    u, v = _grid(c + r, a, rng)
    d = np.minimum(np.hypot(u - c, v), np.hypot(u + c, v))
    m = d <= r
    det = (d >= 0.55 * r) & (d < 0.55 * r + 1) if r >= 5 else np.zeros_like(m)
    m, det = _crop(m, det)
    return Shape(m, det, {'count': 2}, a)


def draw_convoy(rng, size: int, angle=None) -> Shape:
    k = size / 128
    n = int(rng.integers(3, 5))
    w = max(2.0, rng.uniform(2.0, 3.0) * k)
    length = max(w + 1.5, 3.5, rng.uniform(3.5, 6.0) * k)
    gap = max(2.5, rng.uniform(1.5, 3.0) * k)
    a = _angle(rng, angle)
    step = length + gap
    polys = [_rot(_rect(length, w) + [(i - (n - 1) / 2) * step, 0], a) for i in range(n)]
    m, d = _fill_polys(polys)
    return Shape(m, d, {'count': n}, a)


# --- compact ----------------------------------------------------------------
def draw_tennis_court(rng, size: int, angle=None) -> Shape:
    a_ = max(5.0, rng.uniform(0.07, 0.12) * size)
    b_ = a_ * rng.uniform(1.4, 2.0)
    ang = _angle(rng, angle)
    lines = []
    if a_ >= 8:
        inset = _rect(b_ - 3, a_ - 3)
        lines.append((_rot(np.vstack([inset, inset[:1]]), ang), 1))
        lines.append((_rot(np.array([[0, -a_ / 2], [0, a_ / 2]]), ang), 1))
    m, d = _fill_polys([_rot(_rect(b_, a_), ang)], lines)
    return Shape(m, d, {}, ang)


def draw_baseball_field(rng, size: int, angle=None) -> Shape:
    r = max(6.0, rng.uniform(0.08, 0.13) * size)
    t = np.linspace(0, math.pi / 2, 14)
    fan = np.vstack([[0, 0], np.stack([np.cos(t), np.sin(t)], 1) * r])  # quarter disc
    apex = -fan.mean(0)  # the home-plate corner, once the fan is centred
    p = fan + apex
    a = float(rng.uniform(0, 2 * math.pi)) if angle is None else float(angle)
    lines = []
    if r >= 10:  # infield diamond
        s = 0.38 * r
        dia = apex + np.array([[0, 0], [s, 0], [s, s], [0, s], [0, 0]])
        lines.append((_rot(dia, a), 1))
    m, d = _fill_polys([_rot(p, a)], lines)
    return Shape(m, d, {}, a)


CATEGORIES: Dict[str, Category] = {c.name: c for c in [
    Category('vehicle', 'tiny', draw_vehicle),
    Category('ship', 'elongated', draw_ship),
    Category('bridge', 'elongated', draw_bridge),
    Category('building', 'non_convex', draw_building),
    Category('airplane', 'non_convex', draw_airplane),
    Category('storage_tank', 'with_holes', draw_storage_tank),
    Category('track_field', 'with_holes', draw_track_field),
    Category('tank_pair', 'multi_part', draw_tank_pair, sizeable=False,
             expected_parts=2),
    Category('convoy', 'multi_part', draw_convoy, sizeable=False, expected_parts=0),
    Category('tennis_court', 'compact', draw_tennis_court),
    Category('baseball_field', 'compact', draw_baseball_field),
]}

#: family -> categories drawn with that shape
FAMILY_CATEGORIES: Dict[str, List[str]] = {}
for _c in CATEGORIES.values():
    FAMILY_CATEGORIES.setdefault(_c.family, []).append(_c.name)


def draw_shape(category: str, rng, image_size: int, angle: Optional[float] = None,
               max_tries: int = 30) -> Shape:
    """Draw one ``category`` object whose mask is in the category's family.

    Multi-part objects must also have exactly their number of parts (a convoy
    of 4 vehicles has 4 parts), so no part merges with another.
    """
    cat = CATEGORIES[category]
    for _ in range(max_tries):
        shape = cat.draw(rng, image_size, angle)
        if shape.mask.sum() < 3:
            continue
        if classify_mask(shape.mask, image_size) != cat.family:
            continue
        if cat.family == 'multi_part':
            want = shape.attrs.get('count', cat.expected_parts)
            if measure_mask(shape.mask)['parts'] != want:
                continue
        return shape
    raise RuntimeError(f'draw_shape: could not draw a {category!r} in family '
                       f'{cat.family!r} at image size {image_size}')
