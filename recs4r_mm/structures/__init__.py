"""Contour <-> sequence <-> polygons <-> mask/box: the one place that knows the sequence format.

Pure numpy/torch/cv2; imports nothing else of recs4r_mm.

RECS4R (CVPR 2026), Key Design 1: Box = Rect(P), Mask = Fill(P); docs/design.md §4, §6.
"""
from .contour_budget import BudgetRecord, BudgetStats, mask_iou, max_contours_for, select_contours
from .contour_sequence import (box_to_polygons, box_to_sequence, canonical_polygons,
                               mask_or_box_to_sequence, mask_to_sequence, pad_sequences,
                               polygons_to_sequence, resample_contour, sequence_to_box,
                               sequence_to_mask, sequence_to_objects, sequence_to_polygons)
from .contour_trace import edge_midpoints, mask_to_polygons, signed_area
from .oriented_box import (oriented_box_corners, oriented_box_to_list, points_to_oriented_box,
                           polygons_to_oriented_box)
from .rasterize import polygons_to_box, polygons_to_mask
from .sequence_budget import ContourBudget
from .tokens import (NUM_GENERALIZED_TOKEN_CLASSES, NUM_TOKEN_CLASSES, TOKEN_COORD, TOKEN_END,
                     TOKEN_HOLE, TOKEN_NAMES, TOKEN_OBJ, TOKEN_SEP, TOKEN_START)

__all__ = [
    'TOKEN_COORD', 'TOKEN_SEP', 'TOKEN_START', 'TOKEN_END', 'TOKEN_HOLE', 'TOKEN_OBJ',
    'NUM_TOKEN_CLASSES', 'NUM_GENERALIZED_TOKEN_CLASSES', 'TOKEN_NAMES', 'sequence_to_objects',
    'mask_to_polygons', 'polygons_to_sequence', 'mask_to_sequence',
    'box_to_sequence', 'box_to_polygons', 'sequence_to_polygons', 'sequence_to_mask',
    'sequence_to_box', 'polygons_to_mask', 'polygons_to_box', 'pad_sequences',
    'canonical_polygons', 'resample_contour', 'signed_area', 'edge_midpoints',
    'mask_or_box_to_sequence', 'ContourBudget', 'BudgetRecord', 'BudgetStats',
    'max_contours_for', 'select_contours', 'mask_iou', 'points_to_oriented_box',
    'polygons_to_oriented_box', 'oriented_box_corners', 'oriented_box_to_list'
]
