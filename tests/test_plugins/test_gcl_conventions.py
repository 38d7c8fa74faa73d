"""GradientConsistencyLoss follows mmdet's loss conventions (modelled on mmdet's
tests/test_models/test_losses): reduction none/mean/sum, ``loss_weight``, ``avg_factor``,
``reduction_override``, ``weight``, empty input -> zero loss still on the graph; and the call
signatures of mmdet's FCNMaskHead and mmseg's decode heads, built from their registries."""
import pytest
import torch
from mmengine.registry import DefaultScope
from plugin_helpers import build_in_scope

from recs4r_mm.models.losses import GradientConsistencyLoss

N, S = 4, 16


def _pair(seed=0):
    """(pred (N, S, S) probabilities, target (N, S, S) binary squares of different sizes)."""
    g = torch.Generator().manual_seed(seed)
    pred = torch.rand(N, S, S, generator=g)
    target = torch.zeros(N, S, S)
    for i in range(N):
        target[i, 2 + i:10 + i, 3:12 - i] = 1
    return pred, target


def test_reductions():
    pred, target = _pair()
    per = GradientConsistencyLoss(reduction='none')(pred, target)
    assert per.shape == (N, ) and (per > 0).all()
    torch.testing.assert_close(GradientConsistencyLoss()(pred, target), per.mean())
    torch.testing.assert_close(GradientConsistencyLoss(reduction='sum')(pred, target), per.sum())
    with pytest.raises(ValueError, match='reduction'):
        GradientConsistencyLoss(reduction='max')


def test_loss_weight_scales_every_reduction():
    pred, target = _pair()
    for reduction in ('none', 'mean', 'sum'):
        ref = GradientConsistencyLoss(reduction=reduction)(pred, target)
        got = GradientConsistencyLoss(reduction=reduction, loss_weight=2.5)(pred, target)
        torch.testing.assert_close(got, 2.5 * ref)


def test_avg_factor():
    pred, target = _pair()
    per = GradientConsistencyLoss(reduction='none')(pred, target)
    loss = GradientConsistencyLoss()
    torch.testing.assert_close(loss(pred, target, avg_factor=10.), per.sum() / 10.)
    w = torch.tensor([1., 0., 2., 0.])
    torch.testing.assert_close(loss(pred, target, w, avg_factor=3.), (per * w).sum() / 3.)
    for override in (None, 'none', 'mean'):  # allowed, as in mmdet
        assert isinstance(loss(pred, target, avg_factor=10., reduction_override=override),
                          torch.Tensor)
    with pytest.raises(ValueError, match='avg_factor'):
        loss(pred, target, avg_factor=10., reduction_override='sum')


def test_reduction_override():
    pred, target = _pair()
    loss = GradientConsistencyLoss(reduction='mean')
    per = loss(pred, target, reduction_override='none')
    assert per.shape == (N, )
    torch.testing.assert_close(loss(pred, target, reduction_override='sum'), per.sum())
    torch.testing.assert_close(
        GradientConsistencyLoss(reduction='sum')(pred, target, reduction_override='mean'),
        per.mean())
    with pytest.raises((AssertionError, ValueError), match='reduction'):
        loss(pred, target, reduction_override=True)


def test_weight():
    pred, target = _pair()
    per = GradientConsistencyLoss(reduction='none')(pred, target)
    loss = GradientConsistencyLoss()
    w = torch.tensor([0.5, 0., 1., 2.])  # per-sample weights, (N,)
    torch.testing.assert_close(loss(pred, target, w), (per * w).mean())
    torch.testing.assert_close(loss(pred, target, weight=w, reduction_override='sum'),
                               (per * w).sum())
    # per-pixel weights, (N, H, W): ones = unweighted, zeros = nothing counts
    torch.testing.assert_close(loss(pred, target, torch.ones(N, S, S)), per.mean())
    assert loss(pred, target, torch.zeros(N, S, S)) == 0
    half = torch.ones(N, S, S)
    half[:, :, S // 2:] = 0
    assert 0 < loss(pred, target, half) < per.mean()


@pytest.mark.parametrize('shape,labels', [((0, S, S), None), ((0, 3, 28, 28), 'labels')])
@pytest.mark.parametrize('reduction', ['none', 'mean', 'sum'])
def test_empty_input_zero_loss_on_graph(shape, labels, reduction):
    pred = torch.randn(*shape, requires_grad=True)
    target = torch.zeros(0, *shape[-2:])
    args = (torch.zeros(0, dtype=torch.long), ) if labels else ()
    loss = GradientConsistencyLoss(activation='sigmoid', reduction=reduction, loss_weight=3.)
    out = loss(pred, target, *args)
    assert isinstance(out, torch.Tensor) and out.sum() == 0
    assert out.requires_grad and out.grad_fn is not None  # still connected to the graph
    out.sum().backward()
    assert pred.grad is not None and pred.grad.shape == pred.shape
    assert (pred.grad == 0).all()


def _mask_logits(labels, target, num_classes):
    """(N, C, h, w) logits: the labelled channel predicts ``target``, the others are noise."""
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(len(labels), num_classes, *target.shape[-2:], generator=g)
    logits[torch.arange(len(labels)), labels] = (target * 2 - 1) * 20
    return logits


def test_fcn_mask_head_call_signature():
    """FCNMaskHead calls loss_mask(mask_preds (N, C, 28, 28), mask_targets (N, 28, 28), labels)."""
    _, target = _pair()
    target = torch.nn.functional.interpolate(target[:, None], size=(28, 28))[:, 0]
    labels = torch.tensor([0, 2, 1, 2])
    logits = _mask_logits(labels, target, 3)
    loss = build_in_scope(dict(type='GradientConsistencyLoss', activation='sigmoid'), 'mmdet')
    assert loss(logits, target, labels) < 1e-3  # the labelled channels are right
    assert loss(logits, target, (labels + 1) % 3) > 0.05  # the other channels are noise
    per = GradientConsistencyLoss(activation='sigmoid', reduction='none')(
        logits[torch.arange(N), labels], target)
    torch.testing.assert_close(loss(logits, target, labels), per.mean())


def test_class_agnostic_fcn_mask_head_labels():
    """FCNMaskHead(class_agnostic=True) passes torch.zeros_like(labels) as third argument
    (mmdet/models/roi_heads/mask_heads/fcn_mask_head.py, loss_and_target): with a single
    channel those are channel indices (all 0), not per-sample weights of zero."""
    _, target = _pair()
    logits = torch.randn(N, 1, S, S, generator=torch.Generator().manual_seed(1))
    loss = GradientConsistencyLoss(activation='sigmoid')
    expected = loss(logits[:, 0], target)
    assert expected > 0.01
    torch.testing.assert_close(loss(logits, target, torch.zeros(N, dtype=torch.long)), expected)


def test_mmseg_decode_head_call_signature():
    """mmseg decode heads call loss(seg_logits, seg_label, weight=None, ignore_index=255) and log
    the value under ``loss_name``."""
    labels = torch.zeros(2, S, S, dtype=torch.long)
    labels[:, 4:12, 4:12] = 2
    logits = torch.nn.functional.one_hot(labels, 4).permute(0, 3, 1, 2).float() * 30
    loss = build_in_scope(dict(type='GradientConsistencyLoss', activation='softmax',
                               loss_name='loss_gcl'), 'mmseg')
    assert loss.loss_name.startswith('loss_')  # mmseg sums only keys starting with 'loss'
    assert loss(logits, labels, weight=None, ignore_index=255) < 1e-3
    noisy = torch.randn(2, 4, S, S, generator=torch.Generator().manual_seed(0))
    full = loss(noisy, labels, weight=None, ignore_index=255)
    assert full > 0.01
    # ignored pixels do not count: changing the logits there leaves the loss unchanged
    ignored = labels.clone()
    ignored[:, :, :3] = 255
    a = loss(noisy, ignored, weight=None, ignore_index=255)
    noisy2 = noisy.clone()
    noisy2[..., :2] = torch.randn(2, 4, S, 2)  # strictly inside the ignored strip
    torch.testing.assert_close(loss(noisy2, ignored, weight=None, ignore_index=255), a)
    # mmseg samplers (OHEM) hand pixel weights (N, H, W)
    assert loss(noisy, labels, weight=torch.zeros(2, S, S), ignore_index=255) == 0


def test_same_class_in_every_toolbox_registry():
    import mmpretrain.registry
    import mmseg.registry
    from mmdet.registry import MODELS
    for registry in (MODELS, mmseg.registry.MODELS, mmpretrain.registry.MODELS):
        assert registry.get('GradientConsistencyLoss') is GradientConsistencyLoss
    with DefaultScope.overwrite_default_scope('mmseg'):
        built = mmseg.registry.MODELS.build(dict(type='GradientConsistencyLoss', loss_weight=.1))
    assert isinstance(built, GradientConsistencyLoss) and built.loss_weight == 0.1
