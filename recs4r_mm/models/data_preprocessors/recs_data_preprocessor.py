"""mmdet's ``DetDataPreprocessor`` plus the original images of the samples (docs/design.md §3:
the fine stage's native-resolution crops)."""
from mmdet.models.data_preprocessors import DetDataPreprocessor

from recs4r_mm.registry import MODELS


@MODELS.register_module()
class RECSDataPreprocessor(DetDataPreprocessor):
    """``DetDataPreprocessor`` that also converts each data sample's ``ori_img`` (packed by
    ``PackRECSInputs``, (3, H', W') uint8, any size) exactly as it converts the network input:
    channel order (``bgr_to_rgb``), then ``(x - mean) / std``; the result is a float tensor
    (3, H', W') on the model's device, kept per sample (the sizes differ). An ``ori_gt_mask``
    (or ``ori_gt_masks``) only moves to the device."""

    def forward(self, data: dict, training: bool = False) -> dict:
        data = super().forward(data, training)
        for sample in data['data_samples'] or []:
            if 'ori_gt_mask' in sample:
                sample.ori_gt_mask = sample.ori_gt_mask.to(self.device)
            if 'ori_gt_masks' in sample:
                sample.ori_gt_masks = sample.ori_gt_masks.to(self.device)
            if 'ori_img' not in sample:
                continue
            img = sample.ori_img.to(self.device).float()
            if self._channel_conversion and img.shape[0] == 3:
                img = img[[2, 1, 0]]
            if self._enable_normalize:
                img = (img - self.mean) / self.std
            sample.ori_img = img
        return data
