"""One synthetic overhead scene: ground, non-overlapping objects, expressions.

Objects are laid out first (shapes, positions, colours), then described; an
object without enough unique expressions gets a colour unused by its kind and
the scene is described again (dropped as a last resort). Painting comes last
and touches exactly the mask pixels, so masks match the image exactly.

No paper part; docs/synthetic_data.md, section "Scenes" (Layout, Painting).
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .colors import COLOR_NAMES, OBJECT_COLORS, accent_color
from .expressions import describe_scene
from .families import SHAPE_FAMILIES
from .ground import Road, render_ground
from .shapes import CATEGORIES, FAMILY_CATEGORIES, Shape, draw_shape

P_SAME_KIND = 0.3  # chance that a new object repeats a category already placed
P_SAME_COLOR = 0.35  # ... and then repeats that object's colour too
P_ON_ROAD = 0.6  # vehicles / convoys placed along a road when there is one


@dataclass
class SceneObject:
    """An object of a scene; ``mask``/``detail`` are local, at ``offset`` (x, y)."""
    category: str
    family: str
    color: str
    shape: Shape
    offset: Tuple[int, int]
    sentences: List[str] = field(default_factory=list)

    @property
    def mask(self) -> np.ndarray:
        return self.shape.mask

    @property
    def attrs(self) -> Dict[str, object]:
        return self.shape.attrs

    @property
    def area(self) -> int:
        return int(self.shape.mask.sum())

    @property
    def bbox(self) -> Tuple[int, int, int, int]:
        """(x1, y1, x2, y2), x2/y2 = last column/row + 1 (local masks are tight)."""
        x, y = self.offset
        h, w = self.shape.mask.shape
        return (x, y, x + w, y + h)

    @property
    def boundary(self) -> np.ndarray:
        m = self.shape.mask.astype(np.uint8)
        inner = cv2.erode(m, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT,
                          borderValue=0)
        r, c = np.nonzero(m & (1 - inner))
        return np.stack([c + self.offset[0], r + self.offset[1]], 1).astype(np.float64)

    def full_mask(self, image_size: int) -> np.ndarray:
        out = np.zeros((image_size, image_size), bool)
        x1, y1, x2, y2 = self.bbox
        out[y1:y2, x1:x2] = self.shape.mask
        return out


@dataclass
class Scene:
    image: np.ndarray  # (S, S, 3) uint8 RGB
    objects: List[SceneObject]
    roads: List[Road]


def _footprint(mask: np.ndarray, gap: int) -> np.ndarray:
    """Convex hull of the mask (holes and gaps between parts included),
    dilated by ``gap`` px, on a canvas padded by ``gap`` on every side."""
    h, w = mask.shape
    canvas = np.zeros((h + 2 * gap, w + 2 * gap), np.uint8)
    r, c = np.nonzero(mask)
    hull = cv2.convexHull(np.stack([c + gap, r + gap], 1).astype(np.int32))
    cv2.fillConvexPoly(canvas, hull, 1)
    if gap:
        canvas = cv2.dilate(canvas, cv2.getStructuringElement(
            cv2.MORPH_ELLIPSE, (2 * gap + 1, 2 * gap + 1)))
    return canvas.astype(bool)


def _pick_category(rng, picked: Sequence[str]) -> str:
    if picked and rng.random() < P_SAME_KIND:
        return picked[int(rng.integers(len(picked)))]
    fam = SHAPE_FAMILIES[int(rng.integers(len(SHAPE_FAMILIES)))]
    cats = FAMILY_CATEGORIES[fam]
    return cats[int(rng.integers(len(cats)))]


def _pick_color(rng, category: str, placed: Sequence[SceneObject]) -> str:
    same = [o.color for o in placed if o.category == category]
    if same and rng.random() < P_SAME_COLOR:
        return same[int(rng.integers(len(same)))]
    free = [c for c in COLOR_NAMES if c not in same] or list(COLOR_NAMES)
    return free[int(rng.integers(len(free)))]


class _Occupancy:
    """Footprints of placed objects, each dilated by ``gap`` px."""

    def __init__(self, size: int, gap: int):
        self.size, self.gap = size, gap
        self.grid = np.zeros((size + 2 * gap, size + 2 * gap), bool)  # padded by gap

    def try_place(self, rng, shape: Shape, road: Optional[Road], tries: int):
        """Top-left (x, y) of a free spot for ``shape`` (reserved), or None."""
        size, gap = self.size, self.gap
        h, w = shape.mask.shape
        if h > size - 2 or w > size - 2:
            return None
        hull = _footprint(shape.mask, 0)
        foot = _footprint(shape.mask, gap)
        for _ in range(tries):
            if road is None:
                x0, y0 = int(rng.integers(1, size - w)), int(rng.integers(1, size - h))
            else:  # centred on a random point of the road's axis
                t = rng.uniform(0, 1)
                px = road.p0[0] + t * (road.p1[0] - road.p0[0])
                py = road.p0[1] + t * (road.p1[1] - road.p0[1])
                x0, y0 = int(round(px - w / 2)), int(round(py - h / 2))
                if not (1 <= x0 <= size - 1 - w and 1 <= y0 <= size - 1 - h):
                    continue
            region = self.grid[y0:y0 + h + 2 * gap, x0:x0 + w + 2 * gap]
            if (region[gap:gap + h, gap:gap + w] & hull).any():
                continue
            region |= foot
            return x0, y0
        return None


def layout_objects(rng, size: int, n_objects: int, roads: Sequence[Road],
                   min_objects: int = 1, tries: int = 30) -> List[SceneObject]:
    """Place ``n_objects`` objects whose footprints (convex hulls) are more
    than ``gap`` px apart. Categories are picked first and placed largest
    first, so big objects are not under-represented; objects that find no
    room are dropped, then small ones top the scene up to ``min_objects``."""
    occ = _Occupancy(size, max(2, int(round(0.015 * size))))
    picks: List[Tuple[str, Optional[Road], Shape]] = []
    for _ in range(n_objects):
        cat = _pick_category(rng, [p[0] for p in picks])
        road = None
        if cat in ('vehicle', 'convoy') and roads and rng.random() < P_ON_ROAD:
            road = roads[int(rng.integers(len(roads)))]
        picks.append((cat, road, draw_shape(cat, rng, size, None if road is None else road.angle)))
    order = sorted(range(len(picks)), key=lambda k: -picks[k][2].mask.size)
    placed = {}
    for k in order:
        pos = occ.try_place(rng, picks[k][2], picks[k][1], tries)
        if pos is not None:
            placed[k] = pos
    objects: List[SceneObject] = []
    for k in sorted(placed):
        cat, _, shape = picks[k]
        objects.append(SceneObject(cat, CATEGORIES[cat].family,
                                   _pick_color(rng, cat, objects), shape, placed[k]))
    for _ in range(20 * min_objects):
        if len(objects) >= min_objects:
            break
        cat = _pick_category(rng, [o.category for o in objects])
        shape = draw_shape(cat, rng, size)
        pos = occ.try_place(rng, shape, None, tries)
        if pos is not None:
            objects.append(SceneObject(cat, CATEGORIES[cat].family,
                                       _pick_color(rng, cat, objects), shape, pos))
    return objects


def assign_expressions(rng, objects: List[SceneObject], size: int,
                       n_sentences: Tuple[int, int], max_rounds: int = 6) -> List[SceneObject]:
    """Give each object ``n_sentences`` unique expressions, recolouring (then
    dropping) objects that cannot be told apart from the others."""
    objects = list(objects)
    for round_ in range(max_rounds + len(objects)):
        texts = describe_scene(objects, size, rng, n_sentences)
        bad = [i for i, t in enumerate(texts) if t is None]
        if not bad:
            for o, t in zip(objects, texts):
                o.sentences = t
            return objects
        if round_ < max_rounds:
            for i in bad:
                used = {o.color for o in objects if o.category == objects[i].category}
                free = [c for c in COLOR_NAMES if c not in used]
                if free:
                    objects[i].color = free[int(rng.integers(len(free)))]
        else:
            objects.pop(bad[0])
    raise RuntimeError('assign_expressions: could not describe the scene uniquely')


def paint_objects(rng, image: np.ndarray, objects: Sequence[SceneObject]) -> None:
    """Paint every object on ``image`` (float32 RGB) exactly on its mask pixels."""
    for o in objects:
        x1, y1, x2, y2 = o.bbox
        patch = image[y1:y2, x1:x2]
        m = o.shape.mask
        base = np.array(OBJECT_COLORS[o.color], np.float32)
        shade = rng.uniform(0.9, 1.05)  # per-object illumination
        n = int(m.sum())
        patch[m] = base * shade + rng.normal(0, 5, (n, 3)).astype(np.float32)
        d = o.shape.detail & m
        if d.any():
            patch[d] = np.array(accent_color(o.color), np.float32)


def make_scene(rng, image_size: int, objects_per_image: Tuple[int, int],
               n_sentences: Tuple[int, int] = (2, 3)) -> Scene:
    """A full scene: ground + roads, laid-out objects, expressions, painting."""
    ground, roads = render_ground(rng, image_size)
    lo, hi = objects_per_image
    n = int(rng.integers(lo, hi + 1))
    objects = layout_objects(rng, image_size, n, roads, min_objects=lo)
    objects = assign_expressions(rng, objects, image_size, n_sentences)
    paint_objects(rng, ground, objects)
    image = np.clip(np.round(ground), 0, 255).astype(np.uint8)
    return Scene(image, objects, roads)
