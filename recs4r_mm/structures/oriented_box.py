"""Oriented box of a contour: its minimum-area rectangle (DOTA-style), free from the vertices.

No paper part (the paper gives Rect(P) only); docs/scene_inference.md "Oriented box".

Convention (any frame, pixels or map units): ``width >= height``; ``angle`` in degrees in
[-90, 90) is the direction of the long (width) side, measured from the frame's +x axis towards
its +y axis, so it turns clockwise on an image (y down) and counter-clockwise on a map (y north);
``corners`` (4, 2) go ``c - u w/2 - v h/2``, ``c + u w/2 - v h/2``, ``c + u w/2 + v h/2``,
``c - u w/2 + v h/2`` with ``u = (cos a, sin a)`` and ``v = (-sin a, cos a)``.
"""
import math
from typing import Dict, Sequence

import cv2
import numpy as np


def oriented_box_corners(center: Sequence[float], width: float, height: float,
                         angle: float) -> np.ndarray:
    """(centre, width, height, angle in degrees) -> corners (4, 2) float64."""
    a = math.radians(angle)
    u = np.array([math.cos(a), math.sin(a)]) * width / 2
    v = np.array([-math.sin(a), math.cos(a)]) * height / 2
    c = np.asarray(center, np.float64)
    return np.stack([c - u - v, c + u - v, c + u + v, c - u + v])


def points_to_oriented_box(points) -> Dict:
    """Minimum-area rectangle of points (N, 2), N >= 1.

    Returns:
        dict: ``center`` (2,), ``width``, ``height``, ``angle`` (degrees) and ``corners``
        (4, 2), all float64 numpy values in the points' frame (see the module docstring).
    """
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    if not len(pts) or not np.isfinite(pts).all():
        raise ValueError(f'an oriented box needs finite points, got {len(pts)} point(s)')
    origin = pts.mean(0)  # cv2 works in float32: centre first (map coordinates are ~1e6)
    rect = cv2.minAreaRect((pts - origin).astype(np.float32))
    corners = cv2.boxPoints(rect).astype(np.float64)
    e1, e2 = corners[1] - corners[0], corners[2] - corners[1]
    long_side, short_side = (e1, e2) if np.hypot(*e1) >= np.hypot(*e2) else (e2, e1)
    angle = math.degrees(math.atan2(long_side[1], long_side[0]))
    angle = (angle + 90.0) % 180.0 - 90.0  # the long side's direction, in [-90, 90)
    center = corners.mean(0) + origin
    width, height = float(np.hypot(*long_side)), float(np.hypot(*short_side))
    return dict(center=center, width=width, height=height, angle=angle,
                corners=oriented_box_corners(center, width, height, angle))


def polygons_to_oriented_box(parts: Sequence[Dict]) -> Dict:
    """Oriented box of decoded parts (``[dict(outer=(N, 2), holes=[...]), ...]``): the
    minimum-area rectangle of all outer-ring vertices (holes lie inside their outer ring)."""
    rings = [np.asarray(p['outer'], np.float64).reshape(-1, 2) for p in parts]
    rings = [r for r in rings if len(r)]
    if not rings:
        raise ValueError('an oriented box needs at least one non-empty outer ring')
    return points_to_oriented_box(np.concatenate(rings))


def oriented_box_to_list(obox: Dict, ndigits: int = 3) -> Dict:
    """A JSON-able copy of an oriented box (lists of rounded floats)."""
    return dict(center=[round(float(v), ndigits) for v in obox['center']],
                width=round(float(obox['width']), ndigits),
                height=round(float(obox['height']), ndigits),
                angle=round(float(obox['angle']), ndigits),
                corners=[[round(float(v), ndigits) for v in c] for c in obox['corners']])
