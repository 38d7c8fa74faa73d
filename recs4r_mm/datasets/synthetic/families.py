"""Shape families and how a binary mask is classified into one.

The families are the shape cases the paper cares about: ``tiny`` (a few
pixels), ``elongated`` (aspect >= 3), ``non_convex`` (solidity <= 0.85),
``multi_part`` (>= 2 connected parts), ``with_holes`` (an enclosed hole) and
``compact`` (everything else). The generator draws each category so that its
mask falls into the category's family, and re-draws when rasterisation breaks
that (e.g. a tiny L-shape that became convex).

Where RECS4R (CVPR 2026) names them: tiny (Key Design 2), non-convex and elongated (Key
Design 4), multi-part (Key Design 1), holes (its stated limitation). Rules:
docs/synthetic_data.md "Scenes".
"""
from typing import Dict

import cv2
import numpy as np

SHAPE_FAMILIES = ('tiny', 'elongated', 'non_convex', 'multi_part',
                  'with_holes', 'compact')

ELONGATED_ASPECT = 3.0
NON_CONVEX_SOLIDITY = 0.85


def tiny_area(image_size: int) -> float:
    """Largest area (px) that counts as tiny in a ``image_size`` square image."""
    return max(16.0, 0.002 * image_size * image_size)


def _hull_pixels(mask: np.ndarray) -> int:
    """Pixels whose centre lies in the convex hull of the mask's pixel centres.

    Measuring on the pixel grid (not on continuous areas) keeps the solidity of
    a small rotated rectangle at ~1 despite its staircase edges.
    """
    rows, cols = np.nonzero(mask)
    pts = np.stack([cols, rows], 1).astype(np.int32)
    hull = cv2.convexHull(pts)
    canvas = np.zeros(mask.shape, np.uint8)
    cv2.fillConvexPoly(canvas, hull, 1, cv2.LINE_8)
    return int(np.count_nonzero(canvas | mask))


def measure_mask(mask: np.ndarray) -> Dict[str, float]:
    """Area, parts, holes, solidity and aspect of a binary mask (H, W).

    ``parts`` counts 8-connected components; ``holes`` counts contours that
    OpenCV reports as holes (4-connected background enclosed by the mask);
    ``solidity`` is area over the pixel count of the convex hull of the pixel
    centres; ``aspect`` is long/short side of the minimum-area rectangle of the
    pixel centres (each side + 1 px).
    """
    m = (np.asarray(mask) > 0).astype(np.uint8)
    area = int(m.sum())
    if area == 0:
        return dict(area=0, parts=0, holes=0, solidity=0.0, aspect=0.0)
    parts = cv2.connectedComponents(m, connectivity=8)[0] - 1
    contours, hierarchy = cv2.findContours(m, cv2.RETR_CCOMP,
                                           cv2.CHAIN_APPROX_SIMPLE)
    holes = int((hierarchy[0][:, 3] >= 0).sum()) if hierarchy is not None else 0
    rows, cols = np.nonzero(m)
    centres = np.stack([cols, rows], 1).astype(np.float32)
    (_, _), (w, h), _ = cv2.minAreaRect(centres)
    # +1: a run of n pixel centres spans n - 1, the pixels themselves span n
    aspect = (max(w, h) + 1) / (min(w, h) + 1)
    return dict(area=area, parts=int(parts), holes=holes,
                solidity=area / _hull_pixels(m), aspect=float(aspect))


def classify_mask(mask: np.ndarray, image_size: int) -> str:
    """The shape family of ``mask`` (checked in the order of SHAPE_FAMILIES'
    precedence: multi_part, with_holes, tiny, elongated, non_convex, compact)."""
    m = measure_mask(mask)
    if m['area'] == 0:
        raise ValueError('classify_mask: empty mask')
    if m['parts'] >= 2:
        return 'multi_part'
    if m['holes'] >= 1:
        return 'with_holes'
    if m['area'] <= tiny_area(image_size):
        return 'tiny'
    if m['aspect'] >= ELONGATED_ASPECT:
        return 'elongated'
    if m['solidity'] <= NON_CONVEX_SOLIDITY:
        return 'non_convex'
    return 'compact'
