"""CIMF neck: channel isolation, scale weights / text gates, cross-attention, FPN-style sum,
multi-level output replacing FPN in a stock mmdet detector (with GCL as its mask loss)."""
import copy
import os.path as osp

import pytest
import torch

from recs4r_mm.models.necks import CIMF

IN_CH = [8, 16, 32, 64]


def _feats(b=2, s=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(b, c, s // 2**(i + 2), s // 2**(i + 2), generator=g)
                 for i, c in enumerate(IN_CH))


def _text(b=2, t=5, c=24, seed=1):
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(b, t, dtype=torch.bool)
    mask[1, 3:] = False
    return torch.randn(b, t, c, generator=g), mask


def test_single_output_shape_and_channel_isolation():
    neck = CIMF(IN_CH, cm_channels=6, working_level=1, text_channels=None)
    neck.init_weights()
    feats = _feats()
    out = neck(feats)
    assert isinstance(out, tuple) and len(out) == 1
    assert out[0].shape == (2, 24, 8, 8)  # 4 * C_m channels on the stride-8 grid
    # perturbing scale i changes only its own C_m-channel block (no summation)
    for i in range(4):
        f2 = list(feats)
        f2[i] = f2[i] + torch.randn_like(f2[i])
        diff = (neck(tuple(f2))[0] - out[0]).abs().amax(dim=(0, 2, 3))
        changed = (diff > 1e-6).nonzero().flatten().tolist()
        assert changed and set(changed) <= set(range(6 * i, 6 * i + 6)), (i, changed)


def test_text_gates_and_cross_attention():
    torch.manual_seed(0)
    neck = CIMF(IN_CH, cm_channels=6, working_level=2, text_channels=24, num_heads=2)
    neck.init_weights()
    feats = _feats()
    text, mask = _text()
    out = neck(feats, text, mask)[0]
    assert out.shape == (2, 24, 4, 4)
    w = neck.scale_weights(2, text, mask, None, feats[0])
    assert w.shape == (2, 4) and torch.allclose(w.sum(1), torch.full((2, ), 4.0))
    w2 = neck.scale_weights(2, text.flip(0), mask, None, feats[0])
    assert not torch.allclose(w, w2)  # gates depend on the text
    w3 = neck.scale_weights(2, text, mask, torch.tensor([0.01, 0.5]), feats[0])
    assert not torch.allclose(w, w3)  # and on the size cue
    # masked (padding) text tokens do not influence the output
    text2 = text.clone()
    text2[1, 3:] = 50.0
    assert torch.allclose(neck(feats, text2, mask)[0], out, atol=1e-5)
    # text=None still works (plain neck)
    assert neck(feats)[0].shape == out.shape
    out.sum().backward()
    for name, p in neck.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_pixel_word_gating_multiplies_the_attended_text_into_the_map():
    """text_fusion='mul': f + a + f * W a (W = 0 gives 'add'); the product term is what
    lets a location match its own features against the words it attends to."""
    torch.manual_seed(0)
    add = CIMF(IN_CH, cm_channels=6, working_level=1, text_channels=24, num_heads=2)
    mul = CIMF(IN_CH, cm_channels=6, working_level=1, text_channels=24, num_heads=2,
               text_fusion='mul')
    mul.load_state_dict(add.state_dict(), strict=False)
    feats = _feats()
    text, mask = _text()
    with torch.no_grad():
        mul.text_mul.weight.zero_()
        mul.text_mul.bias.zero_()
    assert torch.allclose(mul(feats, text, mask)[0], add(feats, text, mask)[0], atol=1e-6)
    seen = {}
    add.ca_norm.register_forward_hook(lambda m, i, o: seen.__setitem__('f', i[0]))
    add.cross_attn.register_forward_hook(lambda m, i, o: seen.__setitem__('a', o))
    plain = add(feats, text, mask)[0]
    with torch.no_grad():  # W = I, b = 0: the output gains exactly f * a
        mul.text_mul.weight.copy_(torch.eye(24))
    diff = (mul(feats, text, mask)[0] - plain).flatten(2).transpose(1, 2)  # (B, h*w, C)
    assert diff.abs().max() > 1e-3
    assert torch.allclose(diff, seen['f'] * seen['a'], atol=1e-5)
    with pytest.raises(ValueError, match='text_fusion'):
        CIMF(IN_CH, text_channels=24, text_fusion='concat')


def test_sum_mode_is_fpn_style():
    neck = CIMF(IN_CH, cm_channels=6, working_level=1, variant='fpn_sum', text_channels=24)
    neck.init_weights()
    feats = _feats()
    out = neck(feats)[0]
    assert out.shape == (2, 24, 8, 8)
    # a change in one scale spreads over all channels (summation mixes scales)
    f2 = list(feats)
    f2[3] = f2[3] + 1.0
    diff = (neck(tuple(f2))[0] - out).abs().amax(dim=(0, 2, 3))
    assert (diff > 1e-6).sum() > 6
    assert not hasattr(neck, 'scale_logits') and not hasattr(neck, 'cross_attn')


def test_multi_level_output_and_errors():
    neck = CIMF(IN_CH, cm_channels=4, out_mode='multi', out_channels=16, num_outs=5,
                norm_cfg=dict(type='GN', num_groups=4), act_cfg=dict(type='ReLU'))
    neck.init_weights()
    outs = neck(_feats())
    assert [o.shape for o in outs] == [(2, 16, 16, 16), (2, 16, 8, 8), (2, 16, 4, 4),
                                       (2, 16, 2, 2), (2, 16, 1, 1)]
    with pytest.raises(ValueError, match='out_channels'):
        CIMF(IN_CH, out_mode='multi')
    with pytest.raises(ValueError, match='variant'):
        CIMF(IN_CH, variant='max')
    with pytest.raises(ValueError, match="variant='fpn_sum'"):  # the old switches
        CIMF(IN_CH, fusion_mode='sum', use_cross_attn=False)
    with pytest.raises(ValueError, match='working_level'):
        CIMF(IN_CH, working_level=4)
    with pytest.raises(ValueError, match='expects 4 input levels'):
        neck(_feats()[:3])


def test_replaces_fpn_in_mask_rcnn_with_gcl_mask_loss(mm_scope, single_thread):
    """Stock mmdet Mask R-CNN with CIMF instead of FPN and GCL as the mask loss."""
    import mmdet
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.config import Config
    from mmengine.structures import InstanceData

    from recs4r_mm.registry import MODELS
    base = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', '_base_', 'models',
                    'mask-rcnn_r50_fpn.py')
    cfg = copy.deepcopy(Config.fromfile(base).model)
    cfg.backbone = dict(type='ResNet', depth=18, base_channels=8, out_indices=(0, 1, 2, 3),
                        norm_cfg=dict(type='GN', num_groups=4), norm_eval=False,
                        init_cfg=None)
    cfg.neck = dict(type='CIMF', in_channels=IN_CH, cm_channels=4, out_mode='multi',
                    out_channels=16, num_outs=5)
    cfg.rpn_head.in_channels = 16
    cfg.rpn_head.feat_channels = 16
    cfg.roi_head.bbox_roi_extractor.out_channels = 16
    cfg.roi_head.bbox_head.in_channels = 16
    cfg.roi_head.bbox_head.fc_out_channels = 32
    cfg.roi_head.bbox_head.num_classes = 2
    cfg.roi_head.mask_roi_extractor.out_channels = 16
    cfg.roi_head.mask_head.in_channels = 16
    cfg.roi_head.mask_head.conv_out_channels = 16
    cfg.roi_head.mask_head.num_classes = 2
    cfg.roi_head.mask_head.loss_mask = dict(type='GradientConsistencyLoss',
                                            activation='sigmoid', loss_weight=1.0)
    model = MODELS.build(cfg)
    model.init_weights()
    m = torch.zeros(1, 64, 64, dtype=torch.bool)
    m[0, 10:40, 12:50] = True
    s = DetDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64),
                                    scale_factor=(1., 1.), pad_shape=(64, 64),
                                    batch_input_shape=(64, 64)))
    s.gt_instances = InstanceData(bboxes=torch.tensor([[12., 10., 50., 40.]]),
                                  labels=torch.tensor([1]),
                                  masks=BitmapMasks(m.numpy(), 64, 64))
    losses = model.loss(torch.randn(1, 3, 64, 64), [s])
    assert torch.isfinite(losses['loss_mask']) and losses['loss_mask'] > 0
    losses['loss_mask'].backward()
    assert model.neck.projections[0].conv.weight.grad.abs().sum() > 0
