"""The contour budget rule: which parts and holes of a mask fit one target sequence.

A target sequence (:mod:`.contour_sequence`) of ``C`` contours and ``V`` vertices has
``V + C + prefix_len`` generated tokens (``C - 1`` separators, END, and the box corners of the
``box_polygon`` baseline), and the decoder generates at most ``max_len``. ``V`` is always
``num_vertices``, so a mask fits when it has at most

    ``max_contours = min(num_vertices // 3, max_len - num_vertices - prefix_len)``

contours (3 vertices per contour at least). A fragmented mask (dozens of blobs, annotation specks,
holes) is reduced to that many by the rule below; nothing a dataset holds can make a sequence
longer than the head's ``max_len``.

The rule (:func:`select_contours`):

1. specks go first: parts and holes under ``min_part_pixels`` pixels are dropped when the mask is
   traced (:func:`~.contour_trace.mask_to_polygons`);
2. while more than ``max_contours`` contours are left, the contour whose removal changes the
   filled area least is dropped: a hole costs its area (the fill covers it), a part costs its
   area minus its holes (its holes go with it); the last part is never dropped;
3. the ``num_vertices`` are shared among the kept contours by perimeter, at least 3 each
   (:func:`~.contour_sequence.polygons_to_sequence`).

What was lost is recorded in a :class:`BudgetRecord` (contours kept/dropped, the area dropped and,
when measured, the IoU between the mask and the Fill of the encoded sequence);
:class:`BudgetStats` sums records over a run.

Not in the paper (ours: real masks exceed the decoder's token budget); docs/design.md §6
"Fragmented targets".
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from .contour_trace import signed_area

MIN_CONTOUR_VERTICES = 3


def max_contours_for(num_vertices: int, max_len: Optional[int] = None,
                     prefix_len: int = 0) -> int:
    """Most contours a sequence of ``num_vertices`` vertices may hold within ``max_len``
    generated tokens (``None`` = no token limit), ``prefix_len`` of them taken by a prefix.

    Raises:
        ValueError: ``max_len`` leaves no room for one contour of ``num_vertices`` vertices.
    """
    n = num_vertices // MIN_CONTOUR_VERTICES
    if max_len is not None:
        room = int(max_len) - int(num_vertices) - int(prefix_len)
        if room < 1:
            raise ValueError(
                f'max_len={max_len} cannot hold num_vertices={num_vertices} vertices, '
                f'{prefix_len} prefix token(s) and END: raise max_len to at least '
                f'{num_vertices + prefix_len + 1}')
        n = min(n, room)
    if n < 1:
        raise ValueError(f'num_vertices must be >= 3, got {num_vertices}')
    return n


def _area(points: np.ndarray) -> float:
    return abs(signed_area(np.asarray(points, dtype=np.float64).reshape(-1, 2)))


def select_contours(parts: List[Dict], max_contours: int) -> Tuple[List[Dict], int, int, float]:
    """Drop contours by least filled-area change until at most ``max_contours`` are left.

    Args:
        parts: ``dict(outer=(N, 2), holes=[(M, 2), ...])`` in any order (order is kept).
        max_contours: the budget (>= 1).

    Returns:
        tuple: kept parts (holes filtered), number of parts dropped, number of holes dropped
        (including those that went with their part) and the filled area dropped (pixels).
    """
    outer_area = [_area(p['outer']) for p in parts]
    holes = [list(range(len(p['holes']))) for p in parts]
    hole_area = [[_area(h) for h in p['holes']] for p in parts]
    alive = list(range(len(parts)))
    n_contours = sum(1 + len(h) for h in holes)
    dropped_parts = dropped_holes = 0
    dropped_area = 0.0
    while n_contours > max_contours:
        # (cost, kind, part index, hole index): holes before parts on equal cost
        cands = [(hole_area[i][j], 0, i, j) for i in alive for j in holes[i]]
        if len(alive) > 1:
            cands += [(outer_area[i] - sum(hole_area[i][j] for j in holes[i]), 1, i, -1)
                      for i in alive]
        cost, kind, i, j = min(cands)
        dropped_area += max(cost, 0.0)
        if kind == 0:
            holes[i].remove(j)
            dropped_holes += 1
            n_contours -= 1
        else:
            alive.remove(i)
            dropped_parts += 1
            dropped_holes += len(holes[i])
            n_contours -= 1 + len(holes[i])
    kept = [dict(outer=parts[i]['outer'], holes=[parts[i]['holes'][j] for j in holes[i]])
            for i in alive]
    return kept, dropped_parts, dropped_holes, dropped_area


@dataclass
class BudgetRecord:
    """What the budget rule did to one target.

    ``num_parts``/``num_holes`` count the traced contours (specks already removed);
    ``fill_iou`` is IoU(mask, Fill(encoded sequence)) when it was measured, else ``None``.
    """
    num_parts: int = 0
    num_holes: int = 0
    dropped_parts: int = 0
    dropped_holes: int = 0
    dropped_area: float = 0.0
    fill_iou: Optional[float] = None

    @property
    def kept_contours(self) -> int:
        """Contours in the encoded sequence."""
        return self.num_parts + self.num_holes - self.dropped_parts - self.dropped_holes

    @property
    def reduced(self) -> bool:
        """True when the rule dropped a part or hole to fit the budget."""
        return self.dropped_parts + self.dropped_holes > 0


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two boolean masks of one size (1.0 when both are empty)."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


@dataclass
class BudgetStats:
    """Running totals of :class:`BudgetRecord` s: targets seen, targets reduced, and the Fill
    IoU of the reduced ones (sum, worst and the key of the worst)."""
    targets: int = 0
    reduced: int = 0
    iou_sum: float = 0.0
    iou_count: int = 0
    worst_iou: float = 1.0
    worst_key: str = ''
    dropped_contours: int = 0

    def update(self, record: BudgetRecord, key: str = '') -> None:
        self.targets += 1
        if not record.reduced:
            return
        self.reduced += 1
        self.dropped_contours += record.dropped_parts + record.dropped_holes
        if record.fill_iou is not None:
            self.iou_sum += record.fill_iou
            self.iou_count += 1
            if record.fill_iou < self.worst_iou or not self.worst_key:
                self.worst_iou, self.worst_key = record.fill_iou, str(key)

    @property
    def mean_iou(self) -> Optional[float]:
        return self.iou_sum / self.iou_count if self.iou_count else None

    def summary(self, name: str = 'targets') -> str:
        """One log line, e.g. ``3 of 1200 coarse targets (0.25%) reduced ...``."""
        if not self.reduced:
            return f'0 of {self.targets} {name} reduced'
        pct = 100 * self.reduced / max(self.targets, 1)
        line = (f'{self.reduced} of {self.targets} {name} ({pct:.2f}%) reduced, '
                f'{self.dropped_contours} contour(s) dropped')
        if self.iou_count:
            line += (f'; IoU(GT mask, Fill of the sequence) mean {self.mean_iou:.3f}, '
                     f'worst {self.worst_iou:.3f} ({self.worst_key})')
        return line
