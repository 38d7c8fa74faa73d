"""The contour-sequence target as a pipeline step (for browsing / precomputation).

The target of LUCDP (RECS4R, CVPR 2026, Key Design 1); format: docs/design.md §6; browsing:
docs/datasets.md "Browsing".
"""
import numpy as np
from mmcv.transforms import BaseTransform

from recs4r_mm.registry import TRANSFORMS
from recs4r_mm.structures import ContourBudget, mask_or_box_to_sequence


@TRANSFORMS.register_module()
class ContourTarget(BaseTransform):
    """Build ``gt_tokens`` int64 (T,) and ``gt_coords`` float32 (T, 2) (xy normalised by the
    current mask size) from the first instance of ``gt_masks`` (or ``gt_bboxes`` for box-only
    samples: 4-corner contour; also used when the mask vanished in resizing), in the sequence
    format of ``recs4r_mm.structures``. Masks go through the contour budget rule
    (:class:`~recs4r_mm.structures.ContourBudget`), so the sequence fits ``max_len``; what the
    rule did is stored as ``contour_budget`` (a ``BudgetRecord``).

    Args:
        num_vertices (int): vertices in total over all contours.
        with_holes (bool): encode hole contours after HOLE tokens.
        keep_vertices (bool): see ``resample_contour``.
        max_len (int, optional): the head's ``max_len`` (None: 3 vertices per contour is the
            only limit).
        prefix_len (int): tokens of the sequence format's prefix (3 for ``box_polygon``).
        min_part_pixels (int): parts/holes with fewer pixels are dropped as specks.
    """

    def __init__(self, num_vertices: int = 64, with_holes: bool = True,
                 keep_vertices: bool = True, max_len=None, prefix_len: int = 0,
                 min_part_pixels: int = 3):
        self.num_vertices = num_vertices
        self.with_holes = with_holes
        self.keep_vertices = keep_vertices
        self.budget = ContourBudget(num_vertices, max_len=max_len, prefix_len=prefix_len,
                                    with_holes=with_holes, min_part_pixels=min_part_pixels,
                                    keep_vertices=keep_vertices)

    def transform(self, results: dict) -> dict:
        masks = results.get('gt_masks')
        boxes = results.get('gt_bboxes')
        box = None
        if boxes is not None and len(boxes):
            box = (boxes.numpy() if hasattr(boxes, 'numpy') else np.asarray(boxes))[0]
        mask = None
        if masks is not None and len(masks):
            mask = masks.masks[0] if hasattr(masks, 'masks') else np.asarray(masks)[0]
        record = None
        try:
            if mask is not None and not results.get('box_only') and mask.any():
                tokens, coords, record = self.budget.encode_mask(mask)
            else:
                # box-only sample, or a mask that vanished when resized: 4-corner contour
                hw = mask.shape if mask is not None else results.get(
                    'img_shape', results.get('ori_shape'))[:2]
                tokens, coords = mask_or_box_to_sequence(None, box, hw, self.num_vertices)
        except ValueError as e:
            raise ValueError(f'ContourTarget: {e} ({results.get("img_path")}, '
                             f'text={results.get("text")!r})') from e
        results['gt_tokens'] = tokens
        results['gt_coords'] = coords
        results['contour_budget'] = record
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_vertices={self.num_vertices}, '
                f'with_holes={self.with_holes}, keep_vertices={self.keep_vertices}, '
                f'max_len={self.budget.max_len}, prefix_len={self.budget.prefix_len}, '
                f'min_part_pixels={self.budget.min_part_pixels})')
