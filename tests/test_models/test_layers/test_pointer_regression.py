"""Pointer regression: soft-argmax over the visual grid plus a bounded offset."""
import torch

from recs4r_mm.models.layers.pointer_regression import PointerRegression, grid_centres


def test_grid_centres_row_major():
    c = grid_centres(2, 4)
    assert c.shape == (8, 2)
    assert torch.allclose(c[0], torch.tensor([0.125, 0.25]))
    assert torch.allclose(c[5], torch.tensor([0.375, 0.75]))  # row 1, column 1


def test_points_at_the_attended_cell_and_learns_through_the_attention():
    torch.manual_seed(0)
    ptr = PointerRegression(8)
    h, w = 3, 4
    with torch.no_grad():  # q . k = 50 * (query channel 0) * (key channel 0)
        ptr.q_proj.weight.zero_()
        ptr.q_proj.bias.zero_()
        ptr.q_proj.weight[0, 0] = 1.0
        ptr.k_proj.weight.zero_()
        ptr.k_proj.bias.zero_()
        ptr.k_proj.weight[0, 0] = 50.0 * 8 ** 0.5
        ptr.offset[-1].weight.zero_()
    visual = torch.zeros(1, h * w, 8)
    visual[0, 6, 0] = 1.0  # row 1, column 2 -> centre (0.625, 0.5)
    keys = ptr.keys(visual, torch.zeros(h * w, 8))
    state = torch.zeros(1, 2, 8)
    state[0, 0, 0] = 1.0  # the first query looks for the marked token, the second for none
    xy = ptr(state, keys, (h, w))
    assert torch.allclose(xy[0, 0], torch.tensor([0.625, 0.5]), atol=1e-4)
    assert torch.allclose(xy[0, 1], grid_centres(h, w).mean(0), atol=1e-6)  # uniform
    # the offset stays within one cell and moves the point once trained
    with torch.no_grad():
        ptr.offset[-1].bias.fill_(100.0)
    moved = ptr(state, keys, (h, w))
    assert torch.allclose(moved[0, 0], torch.tensor([0.625 + 1 / w, 0.5 + 1 / h]), atol=1e-4)
    # an L1 loss reaches the attention's projections (integral regression)
    ptr.zero_grad()
    (ptr(torch.randn(1, 2, 8), ptr.keys(torch.randn(1, h * w, 8), torch.zeros(h * w, 8)),
         (h, w)) - 0.9).abs().sum().backward()
    assert ptr.q_proj.weight.grad.abs().sum() > 0 and ptr.k_proj.weight.grad.abs().sum() > 0


def test_prior_steers_the_pointer():
    """A strong prior (e.g. the grounding map's logits) moves every step to its cell."""
    torch.manual_seed(0)
    ptr = PointerRegression(8)
    with torch.no_grad():
        ptr.offset[-1].weight.zero_()
    keys = ptr.keys(torch.randn(2, 6, 8), torch.zeros(6, 8))
    prior = torch.zeros(2, 6)
    prior[0, 1] = 60.0  # sample 0: row 0, column 1 of a 2x3 grid
    prior[1, 5] = 60.0  # sample 1: row 1, column 2
    xy = ptr(torch.randn(2, 4, 8), keys, (2, 3), prior)
    assert torch.allclose(xy[0], torch.tensor([0.5, 0.25]).expand(4, 2), atol=1e-4)
    assert torch.allclose(xy[1], torch.tensor([5 / 6, 0.75]).expand(4, 2), atol=1e-4)
