"""configs/plugins/{cimf,gcl}_*mask-rcnn*.py build and step through stock mmdet (CPU).

Each config is parsed as a user's would be (``custom_imports``), built with
``mmdet.registry.MODELS`` under DefaultScope 'mmdet', shrunk in width only (ResNet-18/8 or a small
VMamba, 16-channel neck/heads, 64x64 inputs), then one loss step (backward) and one predict step
run on generated DetDataSamples through mmdet's own data preprocessor.
"""
import os.path as osp

import mmdet
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from plugin_helpers import (SHAPES, SMALL_CHANNELS, WIDTH, assert_finite_losses, assert_grads,
                            build_in_scope, det_batch, drop_keys, load_plugin_config,
                            shrink_mask_rcnn_heads, small_resnet)

MMDET_BASE = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', 'mask_rcnn',
                      'mask-rcnn_r50_fpn_1x_coco.py')
NUM_CLASSES = 3
STRIDES = [4, 8, 16, 32, 64]


def _losses(model):
    """Initialise, then one training forward through mmdet's preprocessor -> loss dict."""
    with DefaultScope.overwrite_default_scope('mmdet'):
        model.init_weights()
        model.train()
        data = model.data_preprocessor(det_batch(NUM_CLASSES), training=True)
        assert tuple(data['inputs'].shape) == (2, 3, 64, 64)
        losses = model(**data, mode='loss')
    assert {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'loss_mask'} <= set(losses)
    assert_finite_losses(losses)
    return losses


def _backward_and_predict(model, losses):
    """Backward of the total loss, then one predict step; returns the eval features."""
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total) and total > 0
    total.backward()
    model.eval()
    with DefaultScope.overwrite_default_scope('mmdet'), torch.no_grad():
        data = model.data_preprocessor(det_batch(NUM_CLASSES, seed=1), training=False)
        feats = model.extract_feat(data['inputs'])
        results = model(**data, mode='predict')
    _check_predictions(results)
    return feats


def _check_predictions(results):
    """Mask R-CNN output contract: boxes/scores/labels/masks per image at the original size."""
    assert len(results) == len(SHAPES)
    for res, (ori, _) in zip(results, SHAPES):
        pred = res.pred_instances
        k = len(pred)
        assert k > 0  # random heads still score every class above test_cfg's 0.05
        assert pred.bboxes.shape == (k, 4) and pred.scores.shape == (k, )
        assert pred.labels.shape == (k, ) and int(pred.labels.max()) < NUM_CLASSES
        assert pred.masks.shape == (k, *ori) and pred.masks.dtype == torch.bool
        assert torch.isfinite(pred.bboxes).all()
        assert (pred.bboxes[:, 2] <= ori[1] + 1e-3).all()  # clipped to the original image
        assert (pred.bboxes[:, 3] <= ori[0] + 1e-3).all()
        assert ((pred.scores >= 0) & (pred.scores <= 1)).all()


def test_cimf_mask_rcnn_config():
    cfg = load_plugin_config('cimf_mask-rcnn_r50_1x_coco.py')
    assert cfg.default_scope == 'mmdet' and cfg.model.type == 'MaskRCNN'
    assert cfg.model.neck == dict(type='CIMF', in_channels=[256, 512, 1024, 2048],
                                  cm_channels=64, out_mode='multi', out_channels=256,
                                  num_outs=5, text_channels=None)
    # only the neck differs from mmdet's own Mask R-CNN config
    assert drop_keys(cfg, 'model.neck') == drop_keys(
        Config.fromfile(MMDET_BASE), 'model.neck')
    # the 5 CIMF levels match the strides the stock heads were configured for
    assert cfg.model.rpn_head.anchor_generator.strides == STRIDES
    assert cfg.model.roi_head.mask_roi_extractor.featmap_strides == STRIDES[:4]

    cfg.model.backbone = small_resnet()
    cfg.model.neck.update(in_channels=SMALL_CHANNELS, cm_channels=WIDTH // 4,
                          out_channels=WIDTH)
    shrink_mask_rcnn_heads(cfg.model, num_classes=NUM_CLASSES)
    model = build_in_scope(cfg.model, 'mmdet')
    assert type(model.neck).__name__ == 'CIMF' and model.neck.out_mode == 'multi'
    feats = _backward_and_predict(model, _losses(model))
    assert [tuple(f.shape) for f in feats] == [(2, WIDTH, 64 // s, 64 // s) for s in STRIDES]
    assert_grads(model.neck, 'neck')  # every CIMF parameter is trained by the detector


def test_cimf_on_vmamba_mask_rcnn_config():
    cfg = load_plugin_config('cimf_vmamba-t_mask-rcnn_1x_coco.py')
    assert cfg.model.backbone.type == 'VMamba' and cfg.model.backbone.arch == 'tiny'
    assert cfg.model.neck.type == 'CIMF' and cfg.model.neck.in_channels == [96, 192, 384, 768]
    assert (cfg.model.neck.num_outs, cfg.model.neck.out_channels) == (5, 256)
    dims = [8, 16, 24, 32]
    cfg.model.backbone.update(depths=[1, 1, 1, 1], dims=dims, init_cfg=None)
    cfg.model.neck.update(in_channels=dims, cm_channels=WIDTH // 4, out_channels=WIDTH)
    shrink_mask_rcnn_heads(cfg.model, num_classes=NUM_CLASSES)
    model = build_in_scope(cfg.model, 'mmdet')
    assert type(model.backbone).__name__ == 'VMamba'
    feats = _backward_and_predict(model, _losses(model))
    assert [tuple(f.shape) for f in feats] == [(2, WIDTH, 64 // s, 64 // s) for s in STRIDES]
    assert_grads(model.neck, 'neck')
    assert model.backbone.layers[0].blocks[0].op.A_logs.grad.abs().sum() > 0


def test_gcl_mask_rcnn_config():
    cfg = load_plugin_config('gcl_mask-rcnn_r50_fpn_1x_coco.py')
    assert cfg.default_scope == 'mmdet'
    loss_cfg = cfg.model.roi_head.mask_head.loss_mask
    assert loss_cfg.type == 'CompositeLoss'
    assert [c['type'] for c in loss_cfg.losses] == ['CrossEntropyLoss', 'GradientConsistencyLoss']
    assert loss_cfg.losses[1] == dict(type='GradientConsistencyLoss', activation='sigmoid',
                                      loss_weight=0.1)
    assert drop_keys(cfg, 'model.roi_head.mask_head.loss_mask') == drop_keys(
        Config.fromfile(MMDET_BASE), 'model.roi_head.mask_head.loss_mask')

    cfg.model.backbone = small_resnet()
    cfg.model.neck.update(in_channels=SMALL_CHANNELS, out_channels=WIDTH)
    shrink_mask_rcnn_heads(cfg.model, num_classes=NUM_CLASSES)
    model = build_in_scope(cfg.model, 'mmdet')
    head = model.roi_head.mask_head
    by_name = {type(m).__name__: m for m in head.loss_mask.modules()}
    gcl, ce = by_name['GradientConsistencyLoss'], by_name['CrossEntropyLoss']
    assert gcl.activation == 'sigmoid' and gcl.loss_weight == 0.1 and ce.use_mask

    calls = []
    hooks = [m.register_forward_hook(lambda mod, args, out, n=n: calls.append((n, args, out)))
             for n, m in (('ce', ce), ('gcl', gcl))]
    losses = _losses(model)
    for h in hooks:
        h.remove()
    assert [n for n, _, _ in calls] == ['ce', 'gcl']
    (_, ce_args, ce_out), (_, gcl_args, gcl_out) = calls
    pred, target, labels = gcl_args[:3]  # what FCNMaskHead hands to its loss_mask
    n = pred.shape[0]
    assert n > 0 and pred.shape == (n, NUM_CLASSES, 28, 28) and target.shape == (n, 28, 28)
    assert labels.shape == (n, ) and ce_args[0] is pred
    assert torch.isfinite(gcl_out) and gcl_out > 0
    torch.testing.assert_close(losses['loss_mask'], ce_out + gcl_out)
    grad, = torch.autograd.grad(gcl_out, head.conv_logits.weight, retain_graph=True)
    assert grad.abs().sum() > 0  # the GCL term alone reaches the mask head's weights
    _backward_and_predict(model, losses)
