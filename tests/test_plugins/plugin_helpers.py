"""Shared helpers of the plugin tests: load ``configs/plugins/*`` as a user would, shrink only
widths and input size (CPU speed), and generate mmdet/mmseg data samples.

Everything is built through the toolboxes' own registries under their default scopes.
"""
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.utils import import_modules_from_strings

import recs4r_mm  # noqa: F401  (lets `mmseg::` bases resolve under onedl-mmsegmentation)

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CFG_DIR = osp.join(REPO, 'configs', 'plugins')
CUSTOM_IMPORTS = dict(imports=['recs4r_mm'], allow_failed_imports=False)
# the ResNet-50 of the stock configs, shrunk: ResNet-18 with 8 base channels (8/16/32/64 out)
SMALL_CHANNELS = [8, 16, 32, 64]
WIDTH = 16  # neck/head width used in place of 256


def load_plugin_config(name: str) -> Config:
    """Parse ``configs/plugins/<name>`` and run its ``custom_imports`` as the toolboxes do."""
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    assert cfg.custom_imports == CUSTOM_IMPORTS
    import_modules_from_strings(**cfg.custom_imports)
    return cfg


def drop_keys(cfg: Config, *paths: str) -> dict:
    """Plain dict of ``cfg`` without the dotted ``paths``, ``custom_imports`` and the ``_scope_``
    markers that ``pkg::`` inheritance adds, to compare a plugin config with its base."""

    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != '_scope_'}
        if isinstance(node, (list, tuple)):
            return type(node)(strip(v) for v in node)
        return node

    out = strip(cfg.to_dict())
    out.pop('custom_imports', None)
    for path in paths:
        *parents, leaf = path.split('.')
        node = out
        for key in parents:
            node = node[key]
        del node[leaf]
    return out


def build_in_scope(model_cfg, scope: str):
    """Build ``model_cfg`` with ``<scope>.registry.MODELS`` under DefaultScope ``scope``."""
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    with DefaultScope.overwrite_default_scope(scope):
        return registry.build(model_cfg)


def small_resnet(mmseg: bool = False) -> dict:
    """ResNet-18 with 8 base channels (no pretrained weights) for the R-50 of a stock config."""
    cfg = dict(type='ResNetV1c' if mmseg else 'ResNet', depth=18, base_channels=8,
               out_indices=(0, 1, 2, 3), norm_cfg=dict(type='BN', requires_grad=True),
               norm_eval=False, init_cfg=None)
    if mmseg:
        cfg.update(stem_channels=8, contract_dilation=True)
    return cfg


def shrink_mask_rcnn_heads(model_cfg, width: int = WIDTH, num_classes: int = 3) -> None:
    """Mask R-CNN heads at ``width`` channels instead of 256 (in place)."""
    model_cfg.rpn_head.update(in_channels=width, feat_channels=width)
    roi = model_cfg.roi_head
    roi.bbox_roi_extractor.out_channels = width
    roi.mask_roi_extractor.out_channels = width
    roi.bbox_head.update(in_channels=width, fc_out_channels=32, num_classes=num_classes)
    roi.mask_head.update(in_channels=width, conv_out_channels=width, num_classes=num_classes)


def _blob(h, w, box, rng):
    """Bool (h, w) ellipse inscribed in ``box`` (x1, y1, x2, y2), randomly squeezed."""
    x1, y1, x2, y2 = box
    yy, xx = np.mgrid[:h, :w] + 0.5
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    rx, ry = (x2 - x1) / 2 * rng.uniform(0.8, 1), (y2 - y1) / 2 * rng.uniform(0.8, 1)
    return ((xx - cx) / rx)**2 + ((yy - cy) / ry)**2 <= 1


# (ori_shape, img_shape): one image at network size, one resized from 80x96 (rescale path)
SHAPES = [((64, 64), (64, 64)), ((80, 96), (64, 64))]


def det_batch(num_classes: int = 3, seed: int = 0):
    """Raw mmdet batch (uint8 images + DetDataSamples with random boxes/masks/labels)."""
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData
    rng = np.random.default_rng(seed)
    inputs, samples = [], []
    for ori, (h, w) in SHAPES:
        inputs.append(torch.from_numpy(rng.integers(0, 256, (3, h, w), dtype=np.uint8)))
        sample = DetDataSample(metainfo=dict(
            img_shape=(h, w), ori_shape=ori, scale_factor=(w / ori[1], h / ori[0])))
        boxes, masks = [], []
        for _ in range(2):
            x1, y1 = rng.uniform(0, w - 24), rng.uniform(0, h - 24)
            box = [x1, y1, x1 + rng.uniform(16, w - x1), y1 + rng.uniform(16, h - y1)]
            masks.append(_blob(h, w, box, rng))
            boxes.append(box)
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor(boxes, dtype=torch.float32),
            labels=torch.from_numpy(rng.integers(0, num_classes, 2)),
            masks=BitmapMasks(np.stack(masks).astype(np.uint8), h, w))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def seg_batch(num_classes: int = 150, seed: int = 0):
    """Raw mmseg batch (uint8 images + SegDataSamples with blob label maps, some ignored)."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    rng = np.random.default_rng(seed)
    inputs, samples = [], []
    for ori, (h, w) in SHAPES:
        inputs.append(torch.from_numpy(rng.integers(0, 256, (3, h, w), dtype=np.uint8)))
        label = np.full((h, w), rng.integers(0, num_classes), dtype=np.int64)
        for _ in range(3):
            x1, y1 = rng.uniform(0, w - 24), rng.uniform(0, h - 24)
            box = [x1, y1, x1 + rng.uniform(16, w - x1), y1 + rng.uniform(16, h - y1)]
            label[_blob(h, w, box, rng)] = rng.integers(0, num_classes)
        label[:, :3] = 255  # ignore_index strip
        sample = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=ori))
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(label)[None])
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def assert_finite_losses(losses: dict) -> None:
    for key, value in losses.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            assert torch.isfinite(v).all(), (key, v)


def assert_grads(module: torch.nn.Module, what: str) -> None:
    """Every trainable parameter of ``module`` got a finite, non-zero gradient."""
    for name, p in module.named_parameters():
        if p.requires_grad:
            assert p.grad is not None, f'{what}.{name} got no gradient'
            assert torch.isfinite(p.grad).all(), f'{what}.{name}: non-finite gradient'
            assert p.grad.abs().sum() > 0, f'{what}.{name}: zero gradient'
