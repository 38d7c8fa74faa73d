"""Generalized referring in RECS4R: no-target and multi-target samples in one batch, OBJ-
separated targets, one instance per decoded object, and the confidence head."""
import numpy as np
import pytest
import torch

from recs4r_mm.structures import TOKEN_COORD, TOKEN_END, TOKEN_OBJ, TOKEN_START

pytestmark = pytest.mark.usefixtures('single_thread')


def _build(tiny_cfg, generalized=True, score_head=True, decoded_prob=0.5):
    from recs4r_mm.registry import MODELS
    cfg = tiny_cfg.model
    cfg.sequence_coder.generalized = generalized
    cfg.refine.update(decoded_prob=decoded_prob)
    if score_head:
        cfg.score_head = dict(type='ContourScoreHead', embed_dims=cfg.encoder.embed_dims)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def _mixed_batch(make_batch):
    """[no target, one rect, the rect and the circle as two objects]."""
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData
    imgs, samples, _ = make_batch(['rect', 'rect', 'rect'])
    _, circle, _ = make_batch(['circle'])
    samples[0].gt_instances = InstanceData(bboxes=torch.zeros(0, 4),
                                           masks=BitmapMasks(np.zeros((0, 64, 64)), 64, 64),
                                           labels=torch.zeros(0, dtype=torch.long))
    two = samples[2].gt_instances
    c = circle[0].gt_instances
    samples[2].gt_instances = InstanceData(
        bboxes=torch.cat([two.bboxes, c.bboxes]),
        masks=BitmapMasks(np.concatenate([two.masks.masks, c.masks.masks]), 64, 64),
        labels=torch.zeros(2, dtype=torch.long))
    for s, t in zip(samples, ('the ship', 'the red building', 'all the buildings')):
        s.set_metainfo(dict(text=t))
    return imgs, samples


def _inputs(model, imgs, samples, training):
    data = model.data_preprocessor(dict(inputs=imgs, data_samples=samples), training)
    return data['inputs'], data['data_samples']


def test_mixed_batch_trains_with_generalized_targets(tiny_cfg, make_batch, monkeypatch):
    model = _build(tiny_cfg)
    imgs, samples = _mixed_batch(make_batch)
    seen = {}

    def spy(name):
        fn = getattr(model.coder, name)

        def wrapped(*args, **kwargs):
            seen.setdefault(name, fn(*args, **kwargs))
            return seen[name]
        monkeypatch.setattr(model.coder, name, wrapped)

    spy('encode_objects')
    spy('encode_object_crops')
    model.train()
    inputs, samples = _inputs(model, imgs, samples, True)
    losses = model.loss(inputs, samples)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    assert model.score_head.query.grad is not None and model.score_head.query.grad.abs().sum() > 0
    tokens, _, weights = seen['encode_objects']
    assert tokens[0, :2].tolist() == [TOKEN_START, TOKEN_END]  # no target
    assert (tokens[0, 2:] < 0).all()
    assert int((tokens[1] == TOKEN_OBJ).sum()) == 0  # one object
    assert int((tokens[2] == TOKEN_OBJ).sum()) == 1  # two objects
    assert weights.tolist() == [1.0, 1.0, 1.0]
    # the fine stage is never taught to say "no target": the no-target crop has weight 0
    assert seen['encode_object_crops'][2][0].item() == 0.0


def test_non_generalized_model_names_a_no_target_record(tiny_cfg, make_batch):
    model = _build(tiny_cfg, generalized=False, score_head=False, decoded_prob=0.0)
    imgs, samples = _mixed_batch(make_batch)
    inputs, samples = _inputs(model, imgs, samples, True)
    with pytest.raises(ValueError, match=r'rect_0\.png.*no GT instance.*generalized'):
        model.loss(inputs, samples)


def test_predict_gives_one_instance_per_object_or_none(tiny_cfg):
    model = _build(tiny_cfg)
    sq = [[0.1, 0.1], [0.3, 0.1], [0.3, 0.3], [0.1, 0.3]]
    tri = [[0.6, 0.6], [0.9, 0.6], [0.9, 0.8]]
    toks = [TOKEN_START] + [TOKEN_COORD] * 4 + [TOKEN_OBJ] + [TOKEN_COORD] * 3 + [TOKEN_END]
    xy = [[0, 0]] + sq + [[0, 0]] + tri + [[0, 0]]
    out = dict(tokens=torch.tensor([toks, toks]), coords=torch.tensor([xy, xy]).float(),
               scores=torch.tensor([0.8, 0.3]), empty=torch.tensor([False, True]),
               coarse_boxes=torch.tensor([[0.1, 0.1, 0.9, 0.8]] * 2))
    scale = torch.ones(2)
    inst = model._objects_to_instances(out, 0, scale, (100, 200))
    assert inst.bboxes.flatten().tolist() == pytest.approx([20, 10, 60, 30, 120, 60, 180, 80])
    assert inst.masks.shape == (2, 100, 200)
    assert inst.scores.tolist() == pytest.approx([0.8, 0.8])
    assert int(inst.masks[0].sum()) == pytest.approx(40 * 20, rel=0.1)
    empty = model._objects_to_instances(out, 1, scale, (100, 200))
    assert len(empty) == 0 and empty.masks.shape == (0, 100, 200)
    model.test_cfg['score_thr'] = 0.9
    assert len(model._objects_to_instances(out, 0, scale, (100, 200))) == 0


def test_predict_end_to_end_on_a_mixed_batch(tiny_cfg, make_batch):
    model = _build(tiny_cfg).eval()
    imgs, samples = _mixed_batch(make_batch)
    inputs, samples = _inputs(model, imgs, samples, False)
    with torch.no_grad():
        res = model.predict(inputs, samples)
    for r in res:
        p = r.pred_instances
        k = len(p)
        assert p.bboxes.shape == (k, 4) and p.masks.shape[0] == k and p.scores.shape == (k,)
        assert ((p.scores >= 0) & (p.scores <= 1)).all()


def test_no_target_threshold_decides_at_either_stage(tiny_cfg, make_batch):
    """head.test_cfg.no_target_thr: 0 makes every answer empty, 1 none (END as the first
    token is never chosen); decode reports each stage's P(END first)."""
    model = _build(tiny_cfg).eval()
    imgs, samples = _mixed_batch(make_batch)
    inputs, samples = _inputs(model, imgs, samples, False)
    with torch.no_grad():
        out = model.decode(inputs, model._texts(samples))
        for key in ('no_target_prob', 'fine_no_target_prob'):
            assert out[key].shape == (3, ) and ((out[key] >= 0) & (out[key] <= 1)).all()
        counts = {}
        for thr in (0.0, 1.0):
            model.head.test_cfg['no_target_thr'] = thr
            assert model.fine_modules.head.test_cfg['no_target_thr'] == thr  # shared head
            counts[thr] = [len(r.pred_instances) for r in model.predict(inputs, samples)]
    assert counts[0.0] == [0, 0, 0]
    assert min(counts[1.0]) >= 1


def test_score_head_target_is_overlap_with_a_present_target():
    from recs4r_mm.models.heads import ContourScoreHead
    head = ContourScoreHead(8, num_heads=2)
    logits = torch.zeros(3)
    loss = head.loss(logits, torch.tensor([0.7, 0.3, 0.9]), torch.tensor([True, True, False]))
    assert loss['loss_score'].item() == pytest.approx(np.log(2), abs=1e-6)
    # logit 0 is "no" for the threshold 0 > 0: samples 2 and 3 are negatives -> 2/3 right
    assert loss['acc_score'].item() == pytest.approx(200 / 3)


def test_score_head_gt_crops_are_positives():
    from recs4r_mm.models.heads import ContourScoreHead
    head = ContourScoreHead(8, num_heads=2, positives='gt_crops')
    logits = torch.tensor([5.0, 5.0, 5.0, 5.0])  # "yes" everywhere
    # a jittered GT crop at IoU 0.3 is a positive, a decoded one is not, no target never is
    loss = head.loss(logits, torch.tensor([0.3, 0.3, 0.8, 0.9]),
                     torch.tensor([True, True, True, False]),
                     torch.tensor([True, False, False, False]))
    assert loss['acc_score'].item() == pytest.approx(50.0)
    with pytest.raises(ValueError, match='positives'):
        ContourScoreHead(8, positives='all')
