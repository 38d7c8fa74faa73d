"""Contour target <-> token sequence: the format of LUCDP (RECS4R, CVPR 2026, Key Design 1;
docs/design.md §6).

Sequence layout for one target: ``START, part-1 vertices, [HOLE, hole vertices]*, SEP, part-2
vertices, ..., END``; ``tokens`` int64 ``(T,)``, ``coords`` float32 ``(T, 2)`` holding (x, y)
normalised to [0, 1] by the image width/height (0 on non-coordinate tokens).

Canonical form (what :func:`polygons_to_sequence` produces from any polygons):
  * outer contours clockwise on screen (y down), holes the other way;
  * each contour starts at its vertex nearest the image's top-left corner (0, 0);
  * parts are ordered by that distance (holes of a part likewise);
  * every contour is resampled by arc length from its start vertex; ``num_vertices`` is the total
    over all contours, shared by perimeter with at least 3 per contour. A contour with no more
    vertices than its share keeps them all (corners of a box or an L survive) and the extra
    points subdivide its edges by length; a longer one gets equally spaced points. When there are
    more contours than fit (3 vertices each, and the decoder's token limit), the budget rule of
    :mod:`.contour_budget` drops those whose removal changes the filled area least.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from .contour_budget import MIN_CONTOUR_VERTICES, select_contours
from .contour_trace import mask_to_polygons, signed_area
from .rasterize import polygons_to_box, polygons_to_mask
from .tokens import TOKEN_COORD, TOKEN_END, TOKEN_HOLE, TOKEN_OBJ, TOKEN_SEP, TOKEN_START


def _clean_contour(points) -> np.ndarray:
    """(N, 2) float64 with consecutive duplicates and the closing duplicate removed."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if p.shape[0] == 0:
        return p
    keep = np.any(p != np.roll(p, 1, axis=0), axis=1)
    if not keep.any():  # all the same point
        return p[:1]
    return p[keep]


def _perimeter(p: np.ndarray) -> float:
    return float(np.linalg.norm(np.roll(p, -1, axis=0) - p, axis=1).sum())


def _start_at_top_left(p: np.ndarray) -> np.ndarray:
    """Rotate a closed contour so its first vertex is the one nearest (0, 0) (ties: y, then x)."""
    d = np.hypot(p[:, 0], p[:, 1])
    i = int(np.lexsort((p[:, 0], p[:, 1], d))[0])
    return np.roll(p, -i, axis=0)


def _uniform_arc(closed: np.ndarray, n: int) -> np.ndarray:
    """``n`` points equally spaced by arc length on the closed polyline ``closed`` (N+1, 2)."""
    seg = np.linalg.norm(np.diff(closed, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    s = np.arange(n, dtype=np.float64) * (cum[-1] / n)
    idx = np.clip(np.searchsorted(cum, s, side='right') - 1, 0, len(seg) - 1)
    t = (s - cum[idx]) / np.maximum(seg[idx], 1e-12)
    return closed[idx] + t[:, None] * (closed[idx + 1] - closed[idx])


def resample_contour(points: np.ndarray, n: int, keep_vertices: bool = True) -> np.ndarray:
    """Resample a closed contour ``(N, 2)`` to ``n`` points by arc length.

    The first output point is ``points[0]`` and the direction of travel is kept. With
    ``keep_vertices`` and ``N <= n`` every input vertex is kept and the other ``n - N`` points
    are shared among the edges by length (each edge evenly subdivided), so corners survive (a box
    stays exactly its box); otherwise the ``n`` points are equally spaced along the perimeter.
    """
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    closed = np.concatenate([p, p[:1]], axis=0)
    seg = np.linalg.norm(np.diff(closed, axis=0), axis=1)
    if seg.sum() <= 0:
        return np.repeat(p[:1], n, axis=0)
    if not keep_vertices or len(p) > n:
        return _uniform_arc(closed, n)
    per_edge = _allocate(seg, n, minimum=1)
    out = []
    for i, k in enumerate(per_edge):
        t = np.arange(k, dtype=np.float64)[:, None] / k
        out.append(closed[i] + t * (closed[i + 1] - closed[i]))
    return np.concatenate(out, axis=0)


def _allocate(lengths: Sequence[float], total: int,
              minimum: int = MIN_CONTOUR_VERTICES) -> List[int]:
    """Share ``total`` points in proportion to ``lengths``, at least ``minimum`` each (the caller
    ensures ``minimum * len(lengths) <= total``); largest-remainder rounding."""
    lengths = np.asarray(lengths, dtype=np.float64)
    ideal = total * lengths / max(lengths.sum(), 1e-12)
    n = np.maximum(minimum, np.floor(ideal)).astype(np.int64)
    while n.sum() < total:
        n[int(np.argmax(ideal - n))] += 1
    while n.sum() > total:
        cand = np.where(n > minimum, n - ideal, -np.inf)
        n[int(np.argmax(cand))] -= 1
    return n.tolist()


def canonical_polygons(parts: List[Dict], with_holes: bool = True) -> List[Dict]:
    """Orient, re-start and order parts/holes as in the sequence (no resampling).

    Parts or holes with fewer than 3 distinct vertices or zero area are dropped.
    """
    out = []
    for part in parts:
        outer = _clean_contour(part['outer'])
        if outer.shape[0] < MIN_CONTOUR_VERTICES:
            continue
        area = signed_area(outer)
        if area == 0:
            continue
        if area < 0:
            outer = outer[::-1]
        outer = _start_at_top_left(outer)
        holes = []
        for hole in (part.get('holes') or []) if with_holes else []:
            hole = _clean_contour(hole)
            if hole.shape[0] < MIN_CONTOUR_VERTICES:
                continue
            a = signed_area(hole)
            if a == 0:
                continue
            if a > 0:
                hole = hole[::-1]
            holes.append(_start_at_top_left(hole))
        holes.sort(key=lambda h: (np.hypot(*h[0]), h[0][1], h[0][0]))
        out.append(dict(outer=outer, holes=holes))
    out.sort(key=lambda p: (np.hypot(*p['outer'][0]), p['outer'][0][1], p['outer'][0][0]))
    return out


def polygons_to_sequence(parts: List[Dict], img_hw: Tuple[int, int], num_vertices: int = 64,
                         with_holes: bool = True, keep_vertices: bool = True,
                         max_contours: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Encode polygons (pixel units of an ``img_hw`` image) as a token sequence.

    ``keep_vertices``: see :func:`resample_contour` (False = strictly equal arc-length spacing).
    ``max_contours``: contours kept by :func:`~.contour_budget.select_contours` (default and
    upper bound ``num_vertices // 3``); :class:`~.sequence_budget.ContourBudget` derives it
    from the decoder's ``max_len``.

    Returns:
        ``tokens`` int64 ``(T,)`` and ``coords`` float32 ``(T, 2)``, normalised xy in [0, 1].

    Raises:
        ValueError: no part with at least 3 distinct vertices and non-zero area, or
            ``num_vertices < 3``.
    """
    if num_vertices < MIN_CONTOUR_VERTICES:
        raise ValueError(f'num_vertices must be >= 3, got {num_vertices}')
    parts = canonical_polygons(parts, with_holes=with_holes)
    if not parts:
        raise ValueError('polygons_to_sequence: no part with >= 3 vertices and non-zero area')
    limit = num_vertices // MIN_CONTOUR_VERTICES
    parts = select_contours(parts, min(limit, max_contours or limit))[0]
    return encode_canonical_polygons(parts, img_hw, num_vertices, keep_vertices)


def encode_canonical_polygons(parts: List[Dict], img_hw: Tuple[int, int], num_vertices: int,
                              keep_vertices: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """The token sequence of parts already in canonical form (:func:`canonical_polygons`) and
    within the budget (at most ``num_vertices // 3`` contours): the last step of
    :func:`polygons_to_sequence`, for callers that applied the budget themselves."""
    return encode_canonical_objects([parts], img_hw, num_vertices, keep_vertices)


def encode_canonical_objects(objects: List[List[Dict]], img_hw: Tuple[int, int],
                             num_vertices: int, keep_vertices: bool = True
                             ) -> Tuple[np.ndarray, np.ndarray]:
    """A generalized sequence: the canonical parts of each object, objects separated by OBJ
    (parts by SEP, holes by HOLE), ``num_vertices`` shared among all contours by perimeter.
    No object gives ``START, END`` (no target); one object is the classic sequence."""
    h, w = float(img_hw[0]), float(img_hw[1])
    contours = []  # (separator before it or None, points) in sequence order
    for i, parts in enumerate(objects):
        for k, part in enumerate(parts):
            sep = (TOKEN_OBJ if i else None) if k == 0 else TOKEN_SEP
            contours.append((sep, part['outer']))
            contours.extend((TOKEN_HOLE, hole) for hole in part['holes'])
    counts = _allocate([_perimeter(c) for _, c in contours], num_vertices) if contours else []
    tokens = [TOKEN_START]
    coords = [np.zeros((1, 2))]
    for (sep, pts), n in zip(contours, counts):
        if sep is not None:
            tokens.append(sep)
            coords.append(np.zeros((1, 2)))
        tokens.extend([TOKEN_COORD] * n)
        coords.append(resample_contour(pts, n, keep_vertices))
    tokens.append(TOKEN_END)
    coords.append(np.zeros((1, 2)))
    coords = np.concatenate(coords, axis=0) / np.array([w, h])
    return (np.asarray(tokens, dtype=np.int64),
            np.clip(coords, 0.0, 1.0).astype(np.float32))


def mask_to_sequence(mask: np.ndarray, num_vertices: int = 64, with_holes: bool = True,
                     keep_vertices: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """Trace ``mask`` (H, W) and encode it, normalised by the mask's own size.

    Raises:
        ValueError: the mask is empty.
    """
    mask = np.asarray(mask)
    parts = mask_to_polygons(mask, with_holes=with_holes)
    if not parts:
        raise ValueError('mask_to_sequence: the mask is empty')
    return polygons_to_sequence(parts, mask.shape[:2], num_vertices, with_holes, keep_vertices)


def box_to_polygons(box_xyxy) -> List[Dict]:
    """The box as one clockwise 4-corner part starting at (x1, y1)."""
    x1, y1, x2, y2 = [float(v) for v in np.asarray(box_xyxy, dtype=np.float64).reshape(4)]
    return [dict(outer=np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]]), holes=[])]


def box_to_sequence(box_xyxy, img_hw: Tuple[int, int],
                    num_vertices: int = 64) -> Tuple[np.ndarray, np.ndarray]:
    """4-corner contour of a box (pixel xyxy) resampled to ``num_vertices`` (box-only targets).

    Raises:
        ValueError: the box has zero width or height.
    """
    x1, y1, x2, y2 = np.asarray(box_xyxy, dtype=np.float64).reshape(4)
    if not (x2 > x1 and y2 > y1):
        raise ValueError(f'box_to_sequence: degenerate box {[x1, y1, x2, y2]}')
    return polygons_to_sequence(box_to_polygons([x1, y1, x2, y2]), img_hw, num_vertices)


def mask_or_box_to_sequence(mask: Optional[np.ndarray], box_xyxy=None,
                            img_hw: Optional[Tuple[int, int]] = None, num_vertices: int = 64,
                            with_holes: bool = True, box_only: bool = False
                            ) -> Tuple[np.ndarray, np.ndarray]:
    """Training target that never fails on a degenerate mask: the mask's contour sequence when
    the mask has object pixels (and not ``box_only``), else the 4-corner contour of
    ``box_xyxy`` (clipped to the image; e.g. a tiny object that vanished when the mask was
    resized). ``img_hw`` defaults to the mask's shape.

    Raises:
        ValueError: neither a non-empty mask nor a box with positive area is given.
    """
    if img_hw is None:
        if mask is None:
            raise ValueError('mask_or_box_to_sequence: img_hw is needed without a mask')
        img_hw = np.asarray(mask).shape[:2]
    if mask is not None and not box_only and np.asarray(mask).any():
        return mask_to_sequence(mask, num_vertices, with_holes)
    if box_xyxy is not None:
        h, w = float(img_hw[0]), float(img_hw[1])
        x1, y1, x2, y2 = np.asarray(box_xyxy, dtype=np.float64).reshape(4)
        x1, x2 = np.clip([x1, x2], 0.0, w)
        y1, y2 = np.clip([y1, y2], 0.0, h)
        if x2 > x1 and y2 > y1:
            return box_to_sequence([x1, y1, x2, y2], img_hw, num_vertices)
    raise ValueError('mask_or_box_to_sequence: empty mask and no box with positive area '
                     f'(box={None if box_xyxy is None else np.asarray(box_xyxy).tolist()})')


def _to_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def sequence_to_polygons(tokens, coords, img_hw: Tuple[int, int]) -> List[Dict]:
    """Decode a sequence (numpy or torch) into parts in pixel units of ``img_hw``.

    Stops at the first END or padding token (any value outside the token classes); START is
    skipped. Contours with fewer than 3 vertices are dropped (a hole whose outer is dropped goes
    with it); returns ``[]`` when no part is left. The parts of every object of a generalized
    sequence (:func:`sequence_to_objects`) together, i.e. the union.
    """
    return [part for obj in sequence_to_objects(tokens, coords, img_hw) for part in obj]


def sequence_to_objects(tokens, coords, img_hw: Tuple[int, int]) -> List[List[Dict]]:
    """Decode a (generalized) sequence into objects, each a list of parts as
    :func:`sequence_to_polygons` gives them, split at OBJ tokens. Objects left without a part
    are dropped: ``[]`` is "no target"."""
    tokens = _to_numpy(tokens).reshape(-1).astype(np.int64)
    coords = _to_numpy(coords).reshape(-1, 2).astype(np.float64)
    scale = np.array([float(img_hw[1]), float(img_hw[0])])
    objects: List[List[Dict]] = [[]]
    outer: List[np.ndarray] = []
    holes: List[List[np.ndarray]] = []
    current = outer

    def close_part():
        if len(outer) >= MIN_CONTOUR_VERTICES:
            objects[-1].append(dict(outer=np.stack(outer) * scale,
                                    holes=[np.stack(h) * scale for h in holes
                                           if len(h) >= MIN_CONTOUR_VERTICES]))

    for tok, xy in zip(tokens.tolist(), coords):
        if tok == TOKEN_COORD:
            current.append(xy)
        elif tok == TOKEN_START:
            continue
        elif tok in (TOKEN_SEP, TOKEN_OBJ):
            close_part()
            if tok == TOKEN_OBJ:
                objects.append([])
            outer, holes = [], []
            current = outer
        elif tok == TOKEN_HOLE:
            holes.append([])
            current = holes[-1]
        else:  # END or padding
            break
    close_part()
    return [obj for obj in objects if obj]


def sequence_to_mask(tokens, coords, out_hw: Tuple[int, int]) -> np.ndarray:
    """Fill of the decoded sequence at any size ``out_hw`` -> (H, W) bool."""
    return polygons_to_mask(sequence_to_polygons(tokens, coords, out_hw), out_hw)


def sequence_to_box(tokens, coords, img_hw: Tuple[int, int]) -> np.ndarray:
    """Rect of the decoded sequence, (4,) float32 xyxy in pixels of ``img_hw``."""
    return polygons_to_box(sequence_to_polygons(tokens, coords, img_hw))


def pad_sequences(seqs: Sequence[Tuple], pad_token: int = -1
                  ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Right-pad sequences to a batch: tokens LongTensor ``(B, T)`` (``pad_token``), coords
    FloatTensor ``(B, T, 2)`` (zeros)."""
    if len(seqs) == 0:
        return torch.zeros((0, 0), dtype=torch.long), torch.zeros((0, 0, 2))
    t_max = max(len(_to_numpy(t)) for t, _ in seqs)
    tokens = torch.full((len(seqs), t_max), pad_token, dtype=torch.long)
    coords = torch.zeros((len(seqs), t_max, 2), dtype=torch.float32)
    for i, (t, c) in enumerate(seqs):
        t = torch.as_tensor(_to_numpy(t), dtype=torch.long).reshape(-1)
        c = torch.as_tensor(_to_numpy(c), dtype=torch.float32).reshape(-1, 2)
        tokens[i, :t.numel()] = t
        coords[i, :c.shape[0]] = c
    return tokens, coords
