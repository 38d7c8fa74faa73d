"""CIMF follows the OpenMMLab neck conventions: ``init_cfg`` (default and user-given, incl.
Pretrained), ``norm_cfg``/``act_cfg``/``conv_cfg`` honoured, the FPN-style multi-level output
contract (one map per input level on that level's grid, extra levels by stride-2 max-pool,
``out_channels`` everywhere), ``text=None`` as a plain visual neck, and the same class in every
toolbox registry."""
import math

import pytest
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from plugin_helpers import build_in_scope

from recs4r_mm.models.necks import CIMF

IN_CH = [8, 16, 32, 64]
STRIDES = [4, 8, 16, 32]


def _feats(h=64, w=64, b=2, seed=0):
    """Backbone-like levels at strides 4..32 (odd sizes round up, as convs with padding do)."""
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(b, c, math.ceil(h / s), math.ceil(w / s), generator=g)
                 for c, s in zip(IN_CH, STRIDES))


def _multi(**kwargs):
    cfg = dict(type='CIMF', in_channels=IN_CH, cm_channels=4, out_mode='multi', out_channels=12,
               num_outs=5)
    cfg.update(kwargs)
    return build_in_scope(cfg, 'mmdet')


def _conv_modules(neck):
    mods = [m for m in neck.modules() if isinstance(m, ConvModule)]
    assert len(mods) == len(neck.projections) + len(neck.out_convs) > 0
    return mods


def test_default_init_cfg_is_fpn_like_xavier():
    neck = _multi()
    assert neck.init_cfg == dict(type='Xavier', layer='Conv2d', distribution='uniform')
    for m in _conv_modules(neck):
        m.conv.bias.data.fill_(1.)
    neck.init_weights()
    assert neck.is_init
    for m in _conv_modules(neck):
        w = m.conv.weight
        fan_in, fan_out = w.shape[1] * w[0, 0].numel(), w.shape[0] * w[0, 0].numel()
        bound = math.sqrt(6. / (fan_in + fan_out))
        assert w.abs().max() <= bound + 1e-6 and w.std() > bound / 4
        assert (m.conv.bias == 0).all()  # Xavier init resets the bias


def test_user_init_cfg_is_honoured(tmp_path):
    neck = _multi(init_cfg=dict(type='Constant', layer='Conv2d', val=0.5, bias=0.))
    neck.init_weights()
    for m in _conv_modules(neck):
        assert (m.conv.weight == 0.5).all() and (m.conv.bias == 0).all()
    # Pretrained: a neck inside a detector checkpoint, loaded with a prefix
    src = _multi()
    src.init_weights()
    ckpt = tmp_path / 'detector.pth'
    torch.save({'state_dict': {f'neck.{k}': v for k, v in src.state_dict().items()}}, ckpt)
    dst = _multi(init_cfg=dict(type='Pretrained', checkpoint=str(ckpt), prefix='neck.'))
    dst.init_weights()
    for (name, a), b in zip(src.state_dict().items(), dst.state_dict().values()):
        assert torch.equal(a, b), name


def test_norm_and_act_cfg_are_honoured():
    neck = _multi(norm_cfg=dict(type='GN', num_groups=2, requires_grad=True),
                  act_cfg=dict(type='GELU'))
    for m in _conv_modules(neck):
        assert isinstance(m.gn, nn.GroupNorm) and m.gn.num_groups == 2
        assert isinstance(m.activate, nn.GELU)
        assert m.conv.bias is None  # bias='auto': no conv bias in front of a norm
    assert len(neck(_feats())) == 5

    neck = _multi(norm_cfg=dict(type='SyncBN', requires_grad=True), act_cfg=dict(type='ReLU'))
    for m in _conv_modules(neck):
        assert isinstance(m.norm, nn.SyncBatchNorm) and isinstance(m.activate, nn.ReLU)

    plain = _multi()  # defaults as FPN: no norm, no activation, conv with bias
    for m in _conv_modules(plain):
        assert not m.with_norm and not m.with_activation and m.conv.bias is not None

    conv_cfg = _multi(conv_cfg=dict(type='Conv2dAdaptivePadding'))
    assert all(type(m.conv).__name__ == 'Conv2dAdaptivePadding'
               for m in _conv_modules(conv_cfg))


@pytest.mark.parametrize('hw', [(64, 64), (100, 76)])
@pytest.mark.parametrize('num_outs', [4, 5, 6])
def test_multi_level_output_contract(hw, num_outs):
    neck = _multi(num_outs=num_outs)
    neck.init_weights()
    feats = _feats(*hw)
    outs = neck(feats)
    assert isinstance(outs, tuple) and len(outs) == num_outs
    assert neck.out_channels == 12
    for i, out in enumerate(outs):
        assert out.shape[:2] == (2, 12)
        if i < len(feats):  # each input level keeps its own grid (stride)
            assert out.shape[-2:] == feats[i].shape[-2:]
        else:  # extra levels: stride doubled (ceil), as FPN's max_pool2d(1, stride=2)
            assert out.shape[-2:] == tuple(math.ceil(s / 2) for s in outs[i - 1].shape[-2:])
    with pytest.raises(ValueError, match='num_outs'):
        _multi(num_outs=3)


def test_text_none_is_a_plain_visual_neck():
    feats = _feats()
    plain = _multi(text_channels=None)
    assert not hasattr(plain, 'gate_mlp') and not hasattr(plain, 'cross_attn')
    guided = _multi(text_channels=24, num_heads=2)
    assert hasattr(guided, 'gate_mlp') and hasattr(guided, 'cross_attn')
    for neck in (plain, guided):
        neck.init_weights()
        outs = neck(feats)  # mmdet calls neck(x) with the backbone levels only
        assert [o.shape for o in outs] == [o.shape for o in neck(feats, text=None)]
        assert all(torch.isfinite(o).all() for o in outs)
        sum(o.sum() for o in outs).backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0
                   for p in neck.projections.parameters())
    text = torch.randn(2, 5, 24)
    assert not torch.allclose(guided(feats, text)[0], guided(feats)[0])  # text does act


def test_same_class_in_every_toolbox_registry():
    import mmpretrain.registry
    import mmseg.registry
    from mmdet.registry import MODELS
    for registry in (MODELS, mmseg.registry.MODELS, mmpretrain.registry.MODELS):
        assert registry.get('CIMF') is CIMF
    neck = build_in_scope(dict(type='CIMF', in_channels=IN_CH, out_mode='multi',
                               out_channels=8, num_outs=4), 'mmseg')
    assert isinstance(neck, CIMF) and len(neck(_feats())) == 4
