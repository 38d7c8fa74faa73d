"""RCE: shapes, near-identity start, every branch trains, switches, box dependence."""
import pytest
import torch

from recs4r_mm.models.layers import RCE, soft_box_map


def _inputs(b=2, c=16):
    torch.manual_seed(0)
    local = torch.randn(b, c, 6, 6)
    glob = torch.randn(b, c, 8, 8)
    coarse = torch.tensor([[0.2, 0.2, 0.5, 0.6], [0.4, 0.1, 0.9, 0.3]])[:b]
    crop = torch.tensor([[0.1, 0.1, 0.6, 0.7], [0.3, 0.0, 1.0, 0.4]])[:b]
    return local, glob, coarse, crop


def test_soft_box_map():
    m = soft_box_map(torch.tensor([[0.25, 0.0, 0.75, 0.5]]), (4, 4), sharpness=0.05)
    assert m.shape == (1, 1, 4, 4)
    expect = torch.zeros(4, 4)
    expect[:2, 1:3] = 1
    assert torch.allclose(m[0, 0], expect, atol=1e-3)


@pytest.mark.parametrize('flags', [(True, True, True), (True, False, False),
                                   (False, True, False), (False, False, True)])
def test_rce_shapes_grads_and_switches(flags):
    ch, sp, ca = flags
    rce = RCE(embed_dims=16, num_heads=2, pool_size=4, use_channel=ch, use_spatial=sp,
              use_cross_attn=ca)
    rce.init_weights()
    local, glob, coarse, crop = _inputs()
    glob.requires_grad_(True)
    out = rce(local, glob, coarse, crop)
    assert out.shape == local.shape
    # starts close to the identity (small init of the residual), but not exactly
    assert (out - local).abs().max() < 0.5
    assert (out - local).abs().max() > 0
    out.pow(2).sum().backward()
    for name, p in rce.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert glob.grad.abs().sum() > 0  # the coarse stage receives the fine loss


def test_rce_depends_on_coarse_box():
    rce = RCE(embed_dims=16, num_heads=2, pool_size=4, init_std=0.5)
    rce.init_weights()
    local, glob, coarse, crop = _inputs()
    a = rce(local, glob, coarse, crop)
    b = rce(local, glob, coarse.flip(-1).clamp(0, 1), crop)
    assert not torch.allclose(a, b)


def test_rce_all_off_is_an_error():
    with pytest.raises(ValueError, match='rce=None'):
        RCE(16, use_channel=False, use_spatial=False, use_cross_attn=False)


@pytest.mark.parametrize('source', ['global', 'local'])
def test_rce_channel_modulation_source(source):
    """Eq. (RCE-ch) f = (1+γ)·F + β: with the spatial gate and cross-attention off and the
    fusion set to the identity, out - F_local = f, so f can be checked against F_global
    resampled into the crop (the paper) or F_local (the earlier variant)."""
    from recs4r_mm.models.layers.roi_crop import crop_and_resize
    c = 16
    rce = RCE(embed_dims=c, num_heads=2, use_channel=True, use_spatial=False,
              use_cross_attn=False, channel_source=source)
    rce.init_weights()
    with torch.no_grad():
        rce.fuse.weight.copy_(torch.eye(c)[..., None, None])
        rce.film[-1].weight.zero_()
        rce.film[-1].bias.copy_(torch.cat([torch.full((c, ), 1.0), torch.full((c, ), 0.5)]))
    local, glob, coarse, crop = _inputs(c=c)
    f = rce(local, glob, coarse, crop) - local  # = (1 + 1) * F + 0.5
    glob_in_crop = crop_and_resize(glob, crop * 8, (6, 6))  # F_global is 8 x 8
    feat, other = (glob_in_crop, local) if source == 'global' else (local, glob_in_crop)
    assert torch.allclose(f, 2 * feat + 0.5, atol=1e-5)
    assert not torch.allclose(f, 2 * other + 0.5, atol=1e-2)


def test_rce_channel_source_is_checked():
    with pytest.raises(ValueError, match="channel_source must be 'global' or 'local'"):
        RCE(16, channel_source='F_local')
