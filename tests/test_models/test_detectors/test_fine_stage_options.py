"""Fine-stage options of RECS4R: T_f encoding ('encode' / 'reuse'), the coarse-box crop
schedule of training ('mixed' + coarse_prob_warmup) and the detached / attached coarse box."""
import pytest
import torch

pytestmark = pytest.mark.usefixtures('single_thread')


def _build(cfg, seed=0):
    from recs4r_mm.registry import MODELS
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def _loss(model, imgs, samples):
    model.train()
    data = model.data_preprocessor(dict(inputs=imgs, data_samples=samples), True)
    return model.loss(data['inputs'], data['data_samples'])


def test_reuse_reads_only_the_template_and_appends_the_coarse_expression_states(tiny_cfg):
    tiny_cfg.model.refine.fine_text = 'reuse'
    model = _build(tiny_cfg).eval()
    expression = 'the small red building on the left of the long road'
    box = torch.tensor([[0.1, 0.1, 0.3, 0.4]])
    read = []
    tokenize = model.text_encoder.tokenize

    def spy(texts, device=None, max_tokens=None):
        read.extend(texts)
        return tokenize(texts, device, max_tokens)

    model.text_encoder.tokenize = spy
    with torch.no_grad():
        coarse = model.encode_text([expression])
        read.clear()
        tokens, mask = model.encode_fine_text([expression], box, coarse)
        template = model.encode_text([model.text_template.fill(expression, box[0].tolist())],
                                     max_tokens=16)
    # BERT read the filled template only, not the expression
    assert read == [model.text_template.fill(expression, box[0].tolist())] * 2
    assert expression not in read[0]
    n = template[0].shape[1]
    assert tokens.shape[1] == n + coarse[0].shape[1]
    assert torch.equal(tokens[:, :n], template[0]) and torch.equal(tokens[:, n:], coarse[0])
    assert torch.equal(mask, torch.cat([template[1], coarse[1]], 1))
    with pytest.raises(ValueError, match='coarse pass'):
        model.encode_fine_text([expression], box)


def test_reuse_trains_every_part_and_predicts(tiny_cfg, make_batch):
    tiny_cfg.model.refine.fine_text = 'reuse'
    model = _build(tiny_cfg)
    imgs, samples, _ = make_batch(['rect', 'ring'])
    losses = _loss(model, imgs, samples)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    missing = [n for n, p in model.named_parameters()
               if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)]
    assert not missing, missing
    model.eval()
    imgs, samples, _ = make_batch(['rect', 'circle'], train=False)
    data = model.data_preprocessor(dict(inputs=imgs, data_samples=samples), False)
    with torch.no_grad():
        out = model.predict(data['inputs'], data['data_samples'])
    assert all(r.pred_instances.bboxes.shape == (1, 4) for r in out)


def test_fine_text_option_is_checked(tiny_cfg):
    tiny_cfg.model.refine.fine_text = 'cached'
    with pytest.raises(ValueError, match="fine_text must be 'encode' or 'reuse'"):
        _build(tiny_cfg)


def test_mixed_crops_ramp_from_gt_to_coarse_boxes(tiny_cfg):
    """'mixed' with coarse_prob=1 and a warm-up of 4 steps: GT-jittered boxes at step 0,
    half at step 2 on average, the coarse box from step 4 on."""
    tiny_cfg.model.refine.update(train_crop='mixed', coarse_prob=1.0, coarse_prob_warmup=4,
                                 jitter_shift=0.0, jitter_scale=0.0)
    model = _build(tiny_cfg)
    n = 4000
    gt = torch.tensor([[10., 10., 20., 20.]]).expand(n, 4)
    coarse = torch.tensor([[30., 30., 40., 50.]]).expand(n, 4)
    for step, expected in ((0, 0.0), (2, 0.5), (4, 1.0), (9, 1.0)):
        model._train_steps = step
        boxes = model._train_crop_boxes(coarse, gt)
        from_coarse = (boxes == coarse).all(1).float()
        assert ((boxes == gt).all(1) | (boxes == coarse).all(1)).all()
        assert abs(from_coarse.mean().item() - expected) < 0.05, step


def test_each_training_step_advances_the_warmup_clock(tiny_cfg, make_batch):
    tiny_cfg.model.refine.update(train_crop='mixed', coarse_prob_warmup=10)
    model = _build(tiny_cfg)
    imgs, samples, _ = make_batch(['rect', 'ring'])
    for _ in range(2):
        _loss(model, imgs, samples)
    assert model._train_steps == 2


@pytest.mark.parametrize('detach', [True, False])
def test_attached_coarse_box_lets_the_fine_loss_reach_the_coarse_head(tiny_cfg, make_batch,
                                                                      detach):
    """Separate fine weights, crops at the coarse box, no coarse losses: the coarse head gets
    gradient from the fine losses only through the coarse box, i.e. only when attached."""
    tiny_cfg.model.refine.update(share_weights=False, train_crop='coarse',
                                 detach_coarse=detach, size_prior=True)
    tiny_cfg.model.coarse_seq_loss_weight = 0.0
    model = _build(tiny_cfg)
    imgs, samples, _ = make_batch(['rect', 'ring'])
    losses = _loss(model, imgs, samples)
    fine = sum(losses[k] for k in ('loss_cls', 'loss_l1', 'loss_smooth_l2', 'loss_gcl'))
    fine.backward()
    grad = sum(p.grad.abs().sum() for p in model.head.parameters() if p.grad is not None)
    assert (grad == 0) == detach
