"""Keep the image as loaded, before ``Resize``, for the fine stage's native-resolution crops
(RECS4R, CVPR 2026, Overall Architecture: the fine stage crops the target region "from the
original image"; docs/design.md §3)."""
import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmdet.datasets.transforms import PackDetInputs

from recs4r_mm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class KeepOriginalImage(BaseTransform):
    """Store the current ``img`` as ``ori_img`` (put it before ``Resize``).

    Adds ``ori_img`` (H', W', 3) uint8 and ``ori_img_scale`` (sx, sy): ``ori_img`` pixels per
    original pixel, 1.0 unless the image is larger than ``max_side``, when it is shrunk
    (area interpolation) so that its longest side is ``max_side`` and memory stays bounded.
    Placed after ``LoadRECSAnnotations`` (training), it also keeps the union of ``gt_masks`` at
    the same size as ``ori_gt_mask`` (H', W') uint8 0/1: the fine stage's targets at native
    resolution (``refine.fine_gt='original'``).

    Args:
        max_side (int): Longest side kept, in pixels.
        with_mask (bool): Keep ``ori_gt_mask`` when ``gt_masks`` are loaded.
        instances (bool): Keep each object's mask instead, ``ori_gt_masks`` (N, H', W')
            (N >= 0), for generalized targets (several objects or none).
    """

    def __init__(self, max_side: int = 2048, with_mask: bool = True,
                 instances: bool = False) -> None:
        if int(max_side) < 1:
            raise ValueError(f'KeepOriginalImage.max_side must be >= 1, got {max_side}')
        self.max_side = int(max_side)
        self.with_mask = bool(with_mask)
        self.instances = bool(instances)

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        if scale < 1.0:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        results['ori_img'] = np.ascontiguousarray(img)
        results['ori_img_scale'] = (img.shape[1] / w, img.shape[0] / h)
        if self.with_mask and results.get('gt_masks') is not None:
            masks = results['gt_masks'].to_ndarray()
            if masks.shape[-2:] != (h, w):
                raise ValueError(f'{results.get("img_path", "sample")}: gt_masks are '
                                 f'{masks.shape[-2:]}, the image {(h, w)}: put '
                                 'KeepOriginalImage before Resize')
            masks = masks.reshape(-1, h, w)
            if not self.instances:
                results['ori_gt_mask'] = self._shrink(masks.any(0), img.shape[:2])
            else:
                results['ori_gt_masks'] = np.stack(
                    [self._shrink(m, img.shape[:2]) for m in masks]) if len(masks) else \
                    np.zeros((0, *img.shape[:2]), np.uint8)
        return results

    @staticmethod
    def _shrink(mask: np.ndarray, hw) -> np.ndarray:
        """A (H, W) mask at the kept image's size ``hw`` (area interpolation), uint8 0/1."""
        mask = mask.astype(np.float32)
        if mask.shape != tuple(hw):
            mask = cv2.resize(mask, (hw[1], hw[0]), interpolation=cv2.INTER_AREA)
        return (mask >= 0.5).astype(np.uint8)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(max_side={self.max_side}, with_mask={self.with_mask}, '
                f'instances={self.instances})')


@TRANSFORMS.register_module()
class PackRECSInputs(PackDetInputs):
    """``PackDetInputs`` that also packs ``ori_img`` (from :class:`KeepOriginalImage`) as the
    data sample's ``ori_img`` field, a (3, H', W') uint8 tensor, and ``ori_img_scale`` into its
    metainfo; :class:`RECSDataPreprocessor` normalises it like the network input. An
    ``ori_gt_mask`` is packed as the (1, H', W') uint8 field of the same name, ``ori_gt_masks``
    as the (N, H', W') one."""

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        if 'ori_img' in results:
            img = results['ori_img']
            if img.ndim == 2:
                img = img[..., None]
            sample = packed['data_samples']
            sample.set_field(torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))),
                             'ori_img', field_type='data')
            sample.set_metainfo(dict(ori_img_scale=tuple(results['ori_img_scale'])))
            if 'ori_gt_mask' in results:
                sample.set_field(torch.from_numpy(results['ori_gt_mask'][None].copy()),
                                 'ori_gt_mask', field_type='data')
            if 'ori_gt_masks' in results:
                sample.set_field(torch.from_numpy(results['ori_gt_masks'].copy()),
                                 'ori_gt_masks', field_type='data')
        return packed
