"""configs/plugins/{cimf_sem-fpn,gcl_upernet}_*.py build and step through stock mmseg (CPU).

Each config is parsed as a user's would be (``custom_imports``, ``mmseg::`` base), built with
``mmseg.registry.MODELS`` under DefaultScope 'mmseg', shrunk in width only (ResNetV1c-18/8,
16-channel neck/heads, 64x64 crops), then one loss step (backward) and one predict step run on
generated SegDataSamples through mmseg's own data preprocessor.
"""
import os.path as osp

import mmseg
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from plugin_helpers import (SHAPES, SMALL_CHANNELS, WIDTH, assert_finite_losses, assert_grads,
                            build_in_scope, drop_keys, load_plugin_config, seg_batch, small_resnet)

MMSEG_CONFIGS = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs')
NUM_CLASSES = 150  # ADE20K, kept: the output contract is checked with the real class count


def _shrink_common(model_cfg) -> None:
    model_cfg.pretrained = None  # R-50 weights of the base; the backbone is replaced below
    model_cfg.backbone = small_resnet(mmseg=True)
    model_cfg.data_preprocessor.size = (64, 64)  # crop size 512 -> 64


def _losses(model):
    with DefaultScope.overwrite_default_scope('mmseg'):
        model.init_weights()
        model.train()
        data = model.data_preprocessor(seg_batch(NUM_CLASSES), training=True)
        assert tuple(data['inputs'].shape) == (2, 3, 64, 64)
        losses = model(**data, mode='loss')
    assert_finite_losses(losses)
    return losses


def _backward_and_predict(model, losses):
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total) and total > 0
    total.backward()
    model.eval()
    with DefaultScope.overwrite_default_scope('mmseg'), torch.no_grad():
        data = model.data_preprocessor(seg_batch(NUM_CLASSES, seed=1), training=False)
        feats = model.extract_feat(data['inputs'])
        results = model(**data, mode='predict')
    assert len(results) == len(SHAPES)
    for res, (ori, _) in zip(results, SHAPES):  # mmseg output contract, at the original size
        assert res.seg_logits.data.shape == (NUM_CLASSES, *ori)
        assert torch.isfinite(res.seg_logits.data).all()
        pred = res.pred_sem_seg.data
        assert pred.shape == (1, *ori) and pred.dtype == torch.int64
        assert 0 <= int(pred.min()) and int(pred.max()) < NUM_CLASSES
    return feats


def test_cimf_sem_fpn_config():
    cfg = load_plugin_config('cimf_sem-fpn_r50_512x512_ade20k.py')
    assert cfg.default_scope == 'mmseg' and cfg.model.type == 'EncoderDecoder'
    assert cfg.model.neck == dict(type='CIMF', in_channels=[256, 512, 1024, 2048],
                                  cm_channels=64, out_mode='multi', out_channels=256,
                                  num_outs=4, text_channels=None)
    base = Config.fromfile(
        osp.join(MMSEG_CONFIGS, 'sem_fpn', 'fpn_r50_4xb4-160k_ade20k-512x512.py'))
    assert drop_keys(cfg, 'model.neck') == drop_keys(base, 'model.neck')
    assert cfg.model.decode_head.in_channels == [256] * 4  # what the 4 CIMF outputs feed
    assert cfg.model.decode_head.feature_strides == [4, 8, 16, 32]

    _shrink_common(cfg.model)
    cfg.model.neck.update(in_channels=SMALL_CHANNELS, cm_channels=WIDTH // 4, out_channels=WIDTH)
    cfg.model.decode_head.update(in_channels=[WIDTH] * 4, channels=WIDTH)
    model = build_in_scope(cfg.model, 'mmseg')
    assert type(model.neck).__name__ == 'CIMF'
    losses = _losses(model)
    assert {'decode.loss_ce', 'decode.acc_seg'} <= set(losses)
    feats = _backward_and_predict(model, losses)
    assert [tuple(f.shape) for f in feats] == [
        (2, WIDTH, 64 // s, 64 // s) for s in (4, 8, 16, 32)]
    assert_grads(model.neck, 'neck')


def test_gcl_upernet_config():
    cfg = load_plugin_config('gcl_upernet_r50_512x512_ade20k.py')
    assert cfg.default_scope == 'mmseg' and cfg.model.decode_head.type == 'UPerHead'
    assert cfg.model.decode_head.loss_decode == [
        dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        dict(type='GradientConsistencyLoss', activation='softmax', loss_weight=0.1,
             loss_name='loss_gcl')
    ]
    base = Config.fromfile(
        osp.join(MMSEG_CONFIGS, 'upernet', 'upernet_r50_4xb4-160k_ade20k-512x512.py'))
    path = 'model.decode_head.loss_decode'
    assert drop_keys(cfg, path) == drop_keys(base, path)

    _shrink_common(cfg.model)
    cfg.model.decode_head.update(in_channels=SMALL_CHANNELS, channels=WIDTH)
    cfg.model.auxiliary_head.update(in_channels=SMALL_CHANNELS[2], channels=WIDTH)
    model = build_in_scope(cfg.model, 'mmseg')
    gcl = model.decode_head.loss_decode[1]
    assert type(gcl).__name__ == 'GradientConsistencyLoss' and gcl.loss_name == 'loss_gcl'
    losses = _losses(model)
    assert {'decode.loss_ce', 'decode.loss_gcl', 'aux.loss_ce'} <= set(losses)
    assert losses['decode.loss_gcl'] > 0
    grad, = torch.autograd.grad(losses['decode.loss_gcl'], model.decode_head.conv_seg.weight,
                                retain_graph=True)
    assert grad.abs().sum() > 0  # the GCL term alone reaches the classifier
    _backward_and_predict(model, losses)
