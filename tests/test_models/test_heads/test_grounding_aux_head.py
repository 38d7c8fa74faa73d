"""Grounding auxiliary head: dense BCE + Dice against the GT coverage of each cell."""
import torch

from recs4r_mm.models.heads import GroundingAuxHead


def test_loss_prefers_the_referred_cells_and_respects_weights():
    head = GroundingAuxHead(embed_dims=4, loss_weight=2.0)
    gt = torch.zeros(2, 16, 16)
    gt[0, :8, :8] = 1  # top-left quadrant of a 2x2 map
    gt[1, 8:, 8:] = 1
    vis = torch.zeros(2, 4, 2, 2)
    vis[0, 0, 0, 0] = 1
    vis[1, 0, 1, 1] = 1
    with torch.no_grad():  # logit = 20 * channel 0 - 10: +10 on the marked cell, -10 elsewhere
        head.conv.weight.zero_()
        head.conv.weight[0, 0] = 20.0
        head.conv.bias.fill_(-10.0)
    right = head.loss(head(vis), gt)
    wrong = head.loss(head(vis.flip(0)), gt)  # each sample points at the other's cell
    assert right < 0.01 and wrong > 10 * right
    # per-sample weights: a zero-weight sample does not count
    mixed = head.loss(head(torch.stack([vis[0], vis[0]])), gt, torch.tensor([1.0, 0.0]))
    assert torch.allclose(mixed, head.loss(head(vis[:1]), gt[:1]))
    # the loss weight scales it and gradients reach the 1x1 conv
    vis.requires_grad_(True)
    loss = head.loss(head(vis), gt.roll(1, 1))
    loss.backward()
    assert head.conv.weight.grad.abs().sum() > 0 and vis.grad.abs().sum() > 0
    head.loss_weight = 1.0
    assert torch.allclose(head.loss(head(vis), gt.roll(1, 1)) * 2, loss)
