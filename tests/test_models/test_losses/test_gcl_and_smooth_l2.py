"""GradientConsistencyLoss (RECS4R, mmdet mask heads, mmseg decode heads) and SmoothL2Loss."""
import pytest
import torch

from recs4r_mm.models.losses import (GradientConsistencyLoss, SmoothL2Loss, smooth_l2_loss,
                                     sobel_magnitude)


def _square(n=2, size=12, lo=3, hi=9):
    m = torch.zeros(n, size, size)
    m[:, lo:hi, lo:hi] = 1
    return m


def test_sobel_magnitude():
    flat = sobel_magnitude(torch.ones(1, 8, 8), eps=0.0)
    assert torch.allclose(flat, torch.zeros(1, 8, 8))
    step = torch.zeros(1, 6, 6)
    step[:, :, 3:] = 1
    g = sobel_magnitude(step, eps=0.0)
    assert torch.allclose(g[0, 2, 2:4], torch.tensor([1.0, 1.0]))  # normalised: unit step -> 1
    assert torch.allclose(g[0, 2, :2], torch.zeros(2))
    assert torch.allclose(g[0, :, 0], torch.zeros(6))  # replicate padding: no border edge
    assert sobel_magnitude(torch.zeros(2, 3, 5, 5)).shape == (2, 3, 5, 5)


def test_gcl_values_weights_reduction():
    loss = GradientConsistencyLoss(loss_weight=0.1)
    gt = _square()
    assert loss(gt, gt) < 1e-4
    shifted = torch.roll(gt, 1, dims=2)
    val = loss(shifted, gt)
    assert val > 0.01
    # a uniformly blurred prediction (IoU-like losses hardly notice) is penalised
    assert loss(gt * 0.5 + 0.25, gt) > loss(gt, gt)
    per = GradientConsistencyLoss(reduction='none')(shifted, gt)
    assert per.shape == (2, )
    assert torch.allclose(val, 0.1 * per.mean())
    w = torch.tensor([1.0, 0.0])
    assert torch.allclose(loss(shifted, gt, weight=w, avg_factor=1.0), 0.1 * per[0])
    summed = loss(shifted, gt, reduction_override='sum')
    assert torch.allclose(summed, 0.1 * per.sum())
    # pixel weights
    pw = torch.zeros(2, 12, 12)
    assert loss(shifted, gt, weight=pw) == 0
    # sigmoid activation on logits
    logits = (gt * 2 - 1) * 20
    assert GradientConsistencyLoss(activation='sigmoid')(logits, gt) < 1e-3
    # target of another size is resized
    assert GradientConsistencyLoss()(gt, torch.nn.functional.interpolate(
        gt[:, None], size=(24, 24))[:, 0]) < 0.05


def test_gcl_empty_and_grad():
    loss = GradientConsistencyLoss()
    empty = torch.zeros(0, 8, 8, requires_grad=True)
    out = loss(empty, torch.zeros(0, 8, 8))
    assert out == 0 and out.requires_grad
    out.backward()
    pred = torch.rand(2, 12, 12, requires_grad=True)
    loss(pred, _square()).backward()
    assert pred.grad.abs().sum() > 0


def test_gcl_mmdet_mask_head_and_mmseg_styles():
    loss = GradientConsistencyLoss(activation='sigmoid')
    gt = _square(3)
    preds = torch.randn(3, 4, 12, 12)
    labels = torch.tensor([0, 2, 3])
    preds[torch.arange(3), labels] = (gt * 2 - 1) * 20  # the labelled channel is right
    assert loss(preds, gt, labels) < 1e-3  # FCNMaskHead passes labels as 3rd argument
    assert loss(preds, gt, torch.zeros(3)) > 0.01
    assert loss(preds[:, :1], gt) > 0  # class-agnostic single channel
    with pytest.raises(ValueError, match='labels'):
        loss(preds, gt)
    seg = GradientConsistencyLoss(activation='softmax', loss_name='loss_gcl_seg')
    assert seg.loss_name == 'loss_gcl_seg'
    labels_map = torch.zeros(2, 12, 12, dtype=torch.long)
    labels_map[:, 3:9, 3:9] = 2
    logits = torch.nn.functional.one_hot(labels_map, 3).permute(0, 3, 1, 2).float() * 30
    assert seg(logits, labels_map) < 1e-3
    ignored = labels_map.clone()
    ignored[:, :, 10:] = 255
    assert seg(logits, ignored, ignore_index=255) < 1e-3
    assert seg(torch.randn(2, 3, 12, 12), labels_map) > 0.01
    with pytest.raises(ValueError, match='activation'):
        GradientConsistencyLoss(activation='relu')
    with pytest.raises(ValueError, match='spatial maps'):
        GradientConsistencyLoss()(torch.rand(10), torch.rand(10))


def test_smooth_l2():
    p = torch.tensor([[0.0, 0.0], [0.3, 0.4]])
    g = torch.zeros(2, 2)
    val = smooth_l2_loss(p, g, beta=0.1)
    assert torch.allclose(val, torch.tensor([0.0, 0.5 - 0.05]), atol=1e-5)  # linear regime
    small = smooth_l2_loss(torch.tensor([[0.03, 0.04]]), torch.zeros(1, 2), beta=0.1)
    assert torch.allclose(small, torch.tensor([0.5 * 0.05**2 / 0.1]), atol=1e-6)
    loss = SmoothL2Loss(beta=0.1, loss_weight=2.0)
    assert torch.allclose(loss(p, g), 2.0 * val.mean())
    assert torch.allclose(loss(p, g, weight=torch.tensor([0.0, 1.0]), avg_factor=1.0),
                          2.0 * val[1])
    assert loss(torch.zeros(0, 2), torch.zeros(0, 2)) == 0
    with pytest.raises(ValueError):
        smooth_l2_loss(torch.zeros(2, 2), torch.zeros(3, 2))
