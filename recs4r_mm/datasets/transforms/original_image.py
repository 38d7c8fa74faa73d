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

    Args:
        max_side (int): Longest side kept, in pixels.
    """

    def __init__(self, max_side: int = 2048) -> None:
        if int(max_side) < 1:
            raise ValueError(f'KeepOriginalImage.max_side must be >= 1, got {max_side}')
        self.max_side = int(max_side)

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        if scale < 1.0:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        results['ori_img'] = np.ascontiguousarray(img)
        results['ori_img_scale'] = (img.shape[1] / w, img.shape[0] / h)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(max_side={self.max_side})'


@TRANSFORMS.register_module()
class PackRECSInputs(PackDetInputs):
    """``PackDetInputs`` that also packs ``ori_img`` (from :class:`KeepOriginalImage`) as the
    data sample's ``ori_img`` field, a (3, H', W') uint8 tensor, and ``ori_img_scale`` into its
    metainfo; :class:`RECSDataPreprocessor` normalises it like the network input."""

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
        return packed
