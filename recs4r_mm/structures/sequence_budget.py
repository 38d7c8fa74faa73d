"""Encoding masks into target sequences that always fit the decoder (the budget rule of
:mod:`.contour_budget` applied, and what it did recorded).

Not in the paper; docs/design.md §6 "Fragmented targets".
"""
from typing import Dict, List, Optional, Tuple

import numpy as np

from .contour_budget import BudgetRecord, mask_iou, max_contours_for, select_contours
from .contour_sequence import (canonical_polygons, encode_canonical_objects,
                               encode_canonical_polygons, sequence_to_mask)
from .contour_trace import mask_to_polygons, signed_area


class ContourBudget:
    """Encode masks into target sequences that always fit the decoder (the rule:
    :mod:`.contour_budget`).

    Args:
        num_vertices (int): Vertices per sequence, shared among the contours.
        max_len (int, optional): The head's ``max_len`` (generated tokens after START, END
            included); ``None`` = only the 3-vertices-per-contour limit.
        prefix_len (int): Tokens a sequence format puts before the contour (3 for
            ``box_polygon``: two box corners and SEP; 0 for ``contour``).
        with_holes (bool): Encode holes (``False``: the fill covers them).
        min_part_pixels (int): Parts and holes with fewer pixels are specks, dropped first.
        max_contours (int, optional): A lower cap than the token budget allows.
        keep_vertices (bool): See :func:`~.contour_sequence.resample_contour`.
    """

    def __init__(self, num_vertices: int = 64, max_len: Optional[int] = None,
                 prefix_len: int = 0, with_holes: bool = True, min_part_pixels: int = 3,
                 max_contours: Optional[int] = None, keep_vertices: bool = True) -> None:
        self.num_vertices = int(num_vertices)
        self.max_len = max_len
        self.prefix_len = int(prefix_len)
        self.with_holes = bool(with_holes)
        self.min_part_pixels = int(min_part_pixels)
        self.keep_vertices = bool(keep_vertices)
        limit = max_contours_for(self.num_vertices, max_len, self.prefix_len)
        if max_contours is not None:
            if int(max_contours) < 1:
                raise ValueError(f'ContourBudget.max_contours must be >= 1, got {max_contours}')
            limit = min(limit, int(max_contours))
        self.max_contours = limit

    def encode_polygons(self, parts: List[Dict], img_hw: Tuple[int, int]
                        ) -> Tuple[np.ndarray, np.ndarray, BudgetRecord]:
        """Encode pixel-unit polygons of an ``img_hw`` image within the budget.

        Returns:
            tuple: ``tokens`` int64 (T,), ``coords`` float32 (T, 2) normalised, the record.
        """
        parts = canonical_polygons(parts, with_holes=self.with_holes)
        if not parts:
            raise ValueError('ContourBudget: no part with >= 3 vertices and non-zero area')
        record = BudgetRecord(num_parts=len(parts),
                              num_holes=sum(len(p['holes']) for p in parts))
        parts, record.dropped_parts, record.dropped_holes, record.dropped_area = \
            select_contours(parts, self.max_contours)
        tokens, coords = encode_canonical_polygons(parts, img_hw, self.num_vertices,
                                                   self.keep_vertices)
        return tokens, coords, record

    def encode_mask(self, mask: np.ndarray, measure_iou: str = 'reduced'
                    ) -> Tuple[np.ndarray, np.ndarray, BudgetRecord]:
        """Trace ``mask`` (H, W) and encode it, normalised by the mask's size.

        Args:
            mask: non-zero = object.
            measure_iou: ``'reduced'`` (IoU of the Fill only for targets the rule reduced),
                ``'always'`` or ``'never'``.

        Raises:
            ValueError: the mask is empty.
        """
        if measure_iou not in ('reduced', 'always', 'never'):
            raise ValueError(f"measure_iou must be 'reduced', 'always' or 'never', "
                             f'got {measure_iou!r}')
        mask = np.asarray(mask).astype(bool)
        parts = mask_to_polygons(mask, with_holes=self.with_holes,
                                 min_part_pixels=self.min_part_pixels)
        if not parts:
            raise ValueError('ContourBudget: the mask is empty')
        tokens, coords, record = self.encode_polygons(parts, mask.shape[:2])
        if measure_iou == 'always' or (measure_iou == 'reduced' and record.reduced):
            record.fill_iou = mask_iou(mask, sequence_to_mask(tokens, coords, mask.shape[:2]))
        return tokens, coords, record

    def encode_object_polygons(self, objects: List[List[Dict]], img_hw: Tuple[int, int]
                               ) -> Tuple[np.ndarray, np.ndarray, BudgetRecord]:
        """A generalized sequence of several objects' pixel-unit polygons (objects in the
        order of their first vertex, as parts are ordered), within the budget: every object
        keeps at least its largest part while the budget allows; the contours left are
        shared in proportion to each object's count, each object's own rule dropping the
        rest. No object (or only degenerate ones) gives ``START, END``.

        Returns:
            tuple: ``tokens`` (T,), ``coords`` (T, 2) normalised, the summed record.
        """
        objs = [p for p in (canonical_polygons(o, with_holes=self.with_holes) for o in objects)
                if p]
        objs.sort(key=lambda o: (np.hypot(*o[0]['outer'][0]), o[0]['outer'][0][1],
                                 o[0]['outer'][0][0]))
        record = BudgetRecord(num_parts=sum(len(o) for o in objs),
                              num_holes=sum(len(p['holes']) for o in objs for p in o))
        counts = [len(o) + sum(len(p['holes']) for p in o) for o in objs]
        if len(objs) > self.max_contours:  # too many objects: the smallest go
            area = [sum(abs(signed_area(p['outer'])) for p in o) for o in objs]
            keep = sorted(np.argsort(area)[::-1][:self.max_contours].tolist())
            for i in set(range(len(objs))) - set(keep):
                record.dropped_parts += len(objs[i])
                record.dropped_holes += sum(len(p['holes']) for p in objs[i])
            objs, counts = [objs[i] for i in keep], [counts[i] for i in keep]
        limits = list(counts)
        while sum(limits) > self.max_contours:  # shrink the object with the most contours
            limits[int(np.argmax(limits))] -= 1
        kept = []
        for parts, limit in zip(objs, limits):
            parts, d_parts, d_holes, d_area = select_contours(parts, max(1, limit))
            record.dropped_parts += d_parts
            record.dropped_holes += d_holes
            record.dropped_area += d_area
            kept.append(parts)
        tokens, coords = encode_canonical_objects(kept, img_hw, self.num_vertices,
                                                  self.keep_vertices)
        return tokens, coords, record

    def trace(self, mask: np.ndarray) -> List[Dict]:
        """The parts of ``mask`` (H, W) as this budget traces them (specks removed)."""
        return mask_to_polygons(np.asarray(mask).astype(bool), with_holes=self.with_holes,
                                min_part_pixels=self.min_part_pixels)

    def encode_objects(self, masks: np.ndarray) -> Tuple[np.ndarray, np.ndarray, BudgetRecord]:
        """Trace each object's mask of ``masks`` (N, H, W) and encode them as one generalized
        sequence (:meth:`encode_object_polygons`); objects whose mask is empty at this size
        are left out, so N = 0 (or all empty) gives ``START, END``."""
        masks = np.asarray(masks).astype(bool)
        objects = [self.trace(m) for m in masks]
        return self.encode_object_polygons([o for o in objects if o], masks.shape[-2:])

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_vertices={self.num_vertices}, '
                f'max_len={self.max_len}, prefix_len={self.prefix_len}, '
                f'with_holes={self.with_holes}, min_part_pixels={self.min_part_pixels}, '
                f'max_contours={self.max_contours})')
