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
