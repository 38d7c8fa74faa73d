"""Stock mmdet Mask R-CNN / mmseg UperNet configs with VMamba build and run in the toolboxes."""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.utils import import_modules_from_strings

import recs4r_mm  # noqa: F401  (registers VMamba; lets `mmseg::` bases resolve)
from recs4r_mm.registry import register_into_toolboxes

CFG_DIR = osp.join(osp.dirname(__file__), '..', '..', '..', 'configs', 'plugins')
SMALL = dict(depths=[1, 1, 1, 1], dims=[16, 32, 48, 64], drop_path_rate=0.1, init_cfg=None)


def _load(name):
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    assert cfg.custom_imports == dict(imports=['recs4r_mm'], allow_failed_imports=False)
    import_modules_from_strings(**cfg.custom_imports)
    register_into_toolboxes()
    assert cfg.model.backbone.type == 'VMamba' and cfg.model.backbone.arch == 'tiny'
    assert cfg.model.backbone.init_cfg.type == 'Pretrained'
    cfg.model.backbone.update(SMALL)  # reduced depth/width keeps the test fast
    return cfg


def test_mask_rcnn_config_builds_and_runs():
    cfg = _load('vmamba-t_mask-rcnn_1x_coco.py')
    assert cfg.model.type == 'MaskRCNN' and cfg.model.neck.in_channels == [96, 192, 384, 768]
    cfg.model.neck.in_channels = SMALL['dims']
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmdet.structures import DetDataSample
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MMDET_MODELS.build(cfg.model)
    assert type(model.backbone).__name__ == 'VMamba'
    model.eval()
    x = torch.randn(1, 3, 64, 64)
    sample = DetDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64),
                                         scale_factor=(1., 1.), batch_input_shape=(64, 64)))
    with torch.no_grad():
        feats = model.backbone(x)
        assert [tuple(f.shape) for f in feats] == [
            (1, 16, 16, 16), (1, 32, 8, 8), (1, 48, 4, 4), (1, 64, 2, 2)]
        fpn = model.extract_feat(x)
        assert [tuple(f.shape) for f in fpn] == [
            (1, 256, 16, 16), (1, 256, 8, 8), (1, 256, 4, 4), (1, 256, 2, 2), (1, 256, 1, 1)]
        out = model(x, [sample], mode='tensor')  # RPN + RoI heads on the VMamba features
    assert all(torch.isfinite(t).all() for t in out if isinstance(t, torch.Tensor))


def test_upernet_config_builds_and_runs():
    cfg = _load('vmamba-t_upernet_512x512_ade20k.py')
    assert cfg.model.type == 'EncoderDecoder' and cfg.model.pretrained is None
    assert cfg.model.decode_head.in_channels == [96, 192, 384, 768]
    cfg.model.decode_head.in_channels = SMALL['dims']
    cfg.model.auxiliary_head.in_channels = SMALL['dims'][2]
    from mmseg.registry import MODELS as MMSEG_MODELS
    assert MMSEG_MODELS.get('VMamba') is not None
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MMSEG_MODELS.build(cfg.model)
    model.eval()  # SyncBN of the stock heads runs as BN in eval mode on CPU
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        feats = model.extract_feat(x)
        logits = model(x, mode='tensor')
    assert [tuple(f.shape) for f in feats] == [
        (1, 16, 16, 16), (1, 32, 8, 8), (1, 48, 4, 4), (1, 64, 2, 2)]
    assert tuple(logits.shape) == (1, 150, 16, 16) and torch.isfinite(logits).all()
