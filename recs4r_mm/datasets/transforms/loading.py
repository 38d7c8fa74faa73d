"""Annotation loading for the RECS datasets.

No paper part; docs/design.md §1 (training and test pipelines), docs/datasets.md "Pipelines".
"""
import logging
from typing import Optional

import numpy as np
from mmdet.datasets.transforms import LoadAnnotations
from mmdet.structures.bbox import get_box_type
from mmdet.structures.mask import BitmapMasks
from mmengine.logging import print_log

from recs4r_mm.registry import TRANSFORMS
from recs4r_mm.structures import box_to_polygons, polygons_to_mask
from ..mask_io import decode_mask, mask_box


@TRANSFORMS.register_module()
class LoadRECSAnnotations(LoadAnnotations):
    """mmdet ``LoadAnnotations`` that understands every RECS mask source.

    Per instance ``mask`` may be COCO polygons, an RLE dict, RRSIS-D's list holding one RLE
    dict (unwrapped), a mask file path (PNG/TIF, object = value > threshold), or None for
    box-only samples, whose mask is the filled box (pixel centres inside it). An instance
    whose ``bbox`` is None gets its mask's bounding rectangle. Masks and boxes are at the
    original image size (``ori_shape``, else ``height``/``width``).

    Args:
        mask_threshold (int, optional): overrides the dataset's ``mask_threshold``.
        min_mask_pixels (int): a loaded mask with fewer object pixels is degenerate.
        on_bad_mask (str): ``'raise'`` (default): a ``ValueError`` naming the mask file;
            ``'skip'``: one warning per file and the transform returns None, so a training
            dataset fetches another sample (test-mode datasets raise on None anyway).
        **kwargs: ``LoadAnnotations`` args (``with_bbox``, ``with_mask``, ``box_type``...).
    """

    def __init__(self,
                 with_bbox: bool = True,
                 with_mask: bool = True,
                 mask_threshold: Optional[int] = None,
                 min_mask_pixels: int = 3,
                 on_bad_mask: str = 'raise',
                 **kwargs):
        super().__init__(with_bbox=with_bbox, with_mask=with_mask, **kwargs)
        if on_bad_mask not in ('raise', 'skip'):
            raise ValueError(f"on_bad_mask must be 'raise' or 'skip', got {on_bad_mask!r}")
        self.mask_threshold = mask_threshold
        self.min_mask_pixels = int(min_mask_pixels)
        self.on_bad_mask = on_bad_mask
        self._warned = set()

    @staticmethod
    def _hw(results):
        if results.get('ori_shape') is not None:
            return tuple(int(v) for v in results['ori_shape'][:2])
        if results.get('height') and results.get('width'):
            return int(results['height']), int(results['width'])
        raise KeyError('LoadRECSAnnotations needs "ori_shape" (run LoadImageFromFile first) '
                       f'or "height"/"width" for {results.get("img_path")}')

    def _instance_mask(self, inst: dict, results: dict, hw):
        src = inst.get('mask')
        if results.get('box_only') or src is None:
            if inst.get('bbox') is None:
                raise ValueError(f'{results.get("img_path")}: box-only sample without a bbox')
            return polygons_to_mask(box_to_polygons(inst['bbox']), hw)
        thr = self.mask_threshold
        if thr is None:
            thr = results.get('mask_threshold', 0)
        mask = decode_mask(src, hw, thr, self.backend_args)
        if mask.sum() < self.min_mask_pixels:
            where = src if isinstance(src, str) else (
                f'annotation of {results.get("img_path")} (ref {results.get("ref_id")})')
            msg = (f'{where}: mask has {int(mask.sum())} object pixel(s) (< {self.min_mask_pixels}'
                   f', threshold > {thr}); validate at init with the dataset\'s '
                   'validate_masks=True to skip such records')
            if self.on_bad_mask == 'raise':
                raise ValueError(msg)
            if where not in self._warned:
                self._warned.add(where)
                print_log(msg + ' -- sample skipped', logger='current', level=logging.WARNING)
            return None
        return mask

    def transform(self, results: dict) -> Optional[dict]:
        instances = results.get('instances', [])
        need_masks = self.with_mask or any(i.get('bbox') is None for i in instances)
        if need_masks:
            hw = self._hw(results)
            masks = []
            for inst in instances:
                m = self._instance_mask(inst, results, hw)
                if m is None:
                    return None
                if inst.get('bbox') is None:
                    inst['bbox'] = mask_box(m)
                masks.append(m)
            if self.with_mask:
                h, w = hw
                arr = (np.stack(masks).astype(np.uint8) if masks else np.zeros((0, h, w),
                                                                               np.uint8))
                results['gt_masks'] = BitmapMasks(arr, h, w)
        if self.with_bbox:
            boxes = np.array([i['bbox'] for i in instances], dtype=np.float32).reshape(-1, 4)
            if self.box_type is None:
                results['gt_bboxes'] = boxes
            else:
                _, box_cls = get_box_type(self.box_type)
                results['gt_bboxes'] = box_cls(boxes)
            results['gt_ignore_flags'] = np.array([i.get('ignore_flag', 0) for i in instances],
                                                  dtype=bool)
        if self.with_label:
            self._load_labels(results)
        if self.with_seg:
            self._load_seg_map(results)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(with_bbox={self.with_bbox}, with_mask={self.with_mask}, '
                f'mask_threshold={self.mask_threshold}, min_mask_pixels={self.min_mask_pixels}, '
                f'on_bad_mask={self.on_bad_mask!r})')
