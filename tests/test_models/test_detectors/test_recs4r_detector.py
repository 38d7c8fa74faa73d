"""RECS4R detector on the tiny config: losses/gradients, predict contract, ablation switches,
degenerate targets."""
import numpy as np
import pytest
import torch

from recs4r_mm.structures import polygons_to_box, polygons_to_mask

pytestmark = pytest.mark.usefixtures('single_thread')


def _build(cfg, seed=0):
    from recs4r_mm.registry import MODELS
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def _run_loss(model, imgs, samples):
    model.train()
    data = model.data_preprocessor(dict(inputs=imgs, data_samples=samples), True)
    return model.loss(data['inputs'], data['data_samples'])


def _predict(model, imgs, samples, rescale=True):
    model.eval()
    data = model.data_preprocessor(dict(inputs=imgs, data_samples=samples), False)
    with torch.no_grad():
        return model.predict(data['inputs'], data['data_samples'], rescale=rescale)


def test_loss_finite_and_every_trainable_part_gets_gradients(tiny_cfg, make_batch):
    model = _build(tiny_cfg)
    imgs, samples, _ = make_batch(['rect', 'ring', 'two'])
    losses = _run_loss(model, imgs, samples)
    expected = {'loss_cls', 'loss_l1', 'loss_smooth_l2', 'loss_coarse_l1', 'loss_coarse_giou',
                'loss_gcl', 'coarse_loss_cls', 'coarse_loss_l1', 'coarse_loss_smooth_l2'}
    assert expected <= set(losses)
    for k, v in losses.items():
        assert torch.isfinite(v).all(), k
        if 'loss' in k:
            assert v > 0, k
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    missing = [n for n, p in model.named_parameters()
               if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)]
    assert not missing, missing
    for part in ('backbone', 'text_encoder', 'neck', 'encoder', 'head', 'rce'):
        assert any(n.startswith(part + '.') for n, _ in model.named_parameters()), part


@pytest.mark.parametrize('ori_hw', [(64, 64), (80, 100)])
def test_predict_contract_box_is_rect_mask_is_fill(tiny_cfg, make_batch, ori_hw):
    model = _build(tiny_cfg)
    imgs, samples, _ = make_batch(['rect', 'circle'], ori_hw=ori_hw, train=False)
    results = _predict(model, imgs, samples)
    for r in results:
        pred = r.pred_instances
        parts = pred.polygons[0]
        assert pred.bboxes.shape == (1, 4) and pred.scores.shape == (1, )
        assert pred.masks.shape == (1, *ori_hw) and pred.masks.dtype == torch.bool
        assert 0 < float(pred.scores[0]) <= 1
        assert parts and all(len(p['outer']) >= 3 for p in parts)
        assert np.allclose(pred.bboxes[0].numpy(), polygons_to_box(parts), atol=1e-4)
        assert np.array_equal(pred.masks[0].numpy(), polygons_to_mask(parts, ori_hw))
        allpts = np.concatenate([p['outer'] for p in parts])
        assert allpts[:, 0].max() <= ori_hw[1] + 1e-4 and allpts[:, 1].max() <= ori_hw[0] + 1e-4
        assert pred.coarse_bboxes.shape == (1, 4)
    # rescale=False: outputs at the network input size
    small = _predict(model, *make_batch(['rect'], ori_hw=ori_hw, train=False)[:2], rescale=False)
    assert small[0].pred_instances.masks.shape == (1, 64, 64)


def test_predict_cached_equals_uncached_and_forward(tiny_cfg, make_batch):
    model = _build(tiny_cfg)
    imgs, samples, _ = make_batch(['rect', 'two'], train=False)
    a = _predict(model, imgs, samples)
    model.head.test_cfg['use_cache'] = False
    imgs, samples, _ = make_batch(['rect', 'two'], train=False)
    b = _predict(model, imgs, samples)
    for ra, rb in zip(a, b):
        assert torch.allclose(ra.pred_instances.bboxes, rb.pred_instances.bboxes, atol=1e-4)
    data = model.data_preprocessor(dict(inputs=imgs, data_samples=samples), False)
    with torch.no_grad():
        out = model(data['inputs'], data['data_samples'], mode='tensor')
    assert len(out) == 5 and out[2].dtype == torch.long and out[3].shape[-1] == 2


ABLATIONS = {
    'lucdp_off': {'model.sequence_coder.seq_format': 'box_polygon'},
    'rce_off_single_stage': {'model.refine': None},
    'fine_without_rce': {'model.rce': None},
    'cimf_off': {'model.neck.variant': 'fpn_sum'},
    'gcl_off': {'model.head.loss_gcl.loss_weight': 0.0},
    'separate_fine_weights_mixed_crops': {'model.refine.share_weights': False,
                                          'model.refine.train_crop': 'mixed',
                                          'model.refine.coarse_prob': 1.0},
}


@pytest.mark.parametrize('name', list(ABLATIONS))
def test_ablation_switches(tiny_cfg, make_batch, name):
    tiny_cfg.merge_from_dict(ABLATIONS[name])
    model = _build(tiny_cfg)
    imgs, samples, _ = make_batch(['rect', 'circle'])
    losses = _run_loss(model, imgs, samples)
    assert all(torch.isfinite(v) for v in losses.values())
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    if name == 'rce_off_single_stage':
        assert 'loss_coarse_l1' not in losses and 'coarse_loss_cls' not in losses
        assert model.rce is None and not model.two_stage
    if name == 'gcl_off':
        assert losses['loss_gcl'] == 0
    if name == 'cimf_off':
        assert model.neck.fusion_mode == 'sum'
    if name == 'separate_fine_weights_mixed_crops':
        assert model.fine_head is not model.head
        assert model.fine_head.cls_branch.weight.grad.abs().sum() > 0
    results = _predict(model, *make_batch(['rect', 'circle'], train=False)[:2])
    for r in results:
        p = r.pred_instances
        assert p.masks.shape == (1, 64, 64)
        if name == 'lucdp_off':  # baseline: separate box tokens, box != Rect(polygon) in general
            assert torch.isfinite(p.bboxes).all()
        else:
            assert np.allclose(p.bboxes[0].numpy(), polygons_to_box(p.polygons[0]), atol=1e-4)


def test_degenerate_targets_do_not_crash(tiny_cfg, make_batch):
    model = _build(tiny_cfg)
    imgs, samples, _ = make_batch(['empty', 'rect', 'circle'], box_only=(2, ))
    with pytest.warns(UserWarning, match='empty/degenerate GT mask'):
        losses = _run_loss(model, imgs, samples)
    assert all(torch.isfinite(v) for v in losses.values())
    sum(v for k, v in losses.items() if 'loss' in k).backward()


def test_bad_inputs_are_reported(tiny_cfg, make_batch):
    model = _build(tiny_cfg)
    imgs, samples, _ = make_batch(['rect'])
    from mmengine.structures import InstanceData
    samples[0].gt_instances = InstanceData(bboxes=torch.zeros(0, 4))
    with pytest.raises(ValueError, match='rect_0.png: no GT instance'):
        _run_loss(model, imgs, samples)
    imgs, samples, _ = make_batch(['rect'])
    from mmdet.structures import DetDataSample
    no_text = DetDataSample(metainfo={k: v for k, v in samples[0].metainfo.items()
                                      if k != 'text'})
    no_text.gt_instances = samples[0].gt_instances
    with pytest.raises(KeyError, match="meta_keys"):
        _run_loss(model, imgs, [no_text])
    samples[0].set_metainfo(dict(text=None))
    with pytest.raises(TypeError, match='metainfo'):
        _run_loss(model, imgs, samples)
    tiny_cfg.model.refine = dict(train_crop='random')
    with pytest.raises(ValueError, match='train_crop'):
        _build(tiny_cfg)
    tiny_cfg.model.refine = dict(foo=1)
    with pytest.raises(ValueError, match='unknown keys'):
        _build(tiny_cfg)


def test_fine_text_keeps_the_expression_after_the_template(tiny_cfg):
    """The fine pass's text = template + expression must not lose the expression to the
    20-token cut: it gets its own budget, capped by BERT's position table."""
    model = _build(tiny_cfg)
    expression = 'the small red building on the left of the long road'  # 11 tokens
    box = torch.tensor([[0.1, 0.1, 0.3, 0.4]])
    (fine_text, ) = model.fine_texts([expression], box)
    assert fine_text.endswith(expression) and len(fine_text) > len(expression)
    captured = {}
    tokenize = model.text_encoder.tokenize

    def spy(texts, device=None, max_tokens=None):
        out = tokenize(texts, device, max_tokens)
        captured['ids'] = out['input_ids'][0].tolist()
        return out

    model.text_encoder.tokenize = spy
    tokens, mask = model.encode_fine_text([expression], box)
    tok = model.text_encoder.tokenizer
    expression_ids = tok(expression, add_special_tokens=False)['input_ids']
    ids = [i for i in captured['ids'] if i != tok.pad_token_id]
    assert ids[-1] == tok.sep_token_id
    assert ids[-1 - len(expression_ids):-1] == expression_ids  # the whole expression survived
    assert tokens.shape[1] == len(ids) <= model.text_encoder.max_position_embeddings
    assert tokens.shape[1] > model.text_encoder.max_tokens  # beyond the expression's budget


@pytest.mark.parametrize('pointer_prior', [False, True])
def test_pointer_regression_and_grounding_aux_head(tiny_cfg, make_batch, pointer_prior):
    """The synthetic config's options: pointer vertices and the dense grounding loss on both
    stages' visual maps (optionally the pointer's prior); every part trains and the predict
    contract still holds."""
    tiny_cfg.merge_from_dict({'model.head.reg_mode': 'pointer'})
    tiny_cfg.model.aux_head = dict(type='GroundingAuxHead', embed_dims=32,
                                   pointer_prior=pointer_prior)  # the test config has None
    model = _build(tiny_cfg)
    imgs, samples, _ = make_batch(['rect', 'ring'])
    losses = _run_loss(model, imgs, samples)
    assert losses['loss_aux_mask'] > 0 and losses['loss_aux_mask_fine'] > 0
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    missing = [n for n, p in model.named_parameters()
               if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)]
    assert not missing, missing
    assert model.head.pointer.q_proj.weight.grad.abs().sum() > 0
    if pointer_prior:  # the grounding logits steer the decoded vertices
        model.eval()
        data = model.data_preprocessor(dict(inputs=imgs, data_samples=samples), False)
        with torch.no_grad():
            before = model.decode(data['inputs'], model._texts(data['data_samples']))
            model.aux_head.conv.bias.add_(5.0)
            model.aux_head.conv.weight.mul_(10.0)
            after = model.decode(data['inputs'], model._texts(data['data_samples']))
        assert not torch.allclose(before['coarse_coords'], after['coarse_coords'])
    for r in _predict(model, *make_batch(['rect', 'circle'], train=False)[:2]):
        p = r.pred_instances
        assert np.allclose(p.bboxes[0].numpy(), polygons_to_box(p.polygons[0]), atol=1e-4)
        assert p.masks[0].numpy().sum() == polygons_to_mask(p.polygons[0], (64, 64)).sum()


def test_second_fine_pass_crops_around_the_first_fine_contour(tiny_cfg, make_batch):
    """refine.test_passes=2: the second fine pass crops around Rect(P_f) of the first."""
    from recs4r_mm.models.layers import expand_boxes
    model = _build(tiny_cfg).eval()
    imgs, samples, _ = make_batch(['rect', 'ring'], train=False)
    data = model.data_preprocessor(dict(inputs=imgs, data_samples=samples), False)
    x, texts = data['inputs'], model._texts(data['data_samples'])
    b, _, hp, wp = x.shape
    norm = torch.tensor([wp, hp, wp, hp], dtype=torch.float32)
    with torch.no_grad():
        one = model.decode(x, texts)
        model.refine_cfg['test_passes'] = 2
        two = model.decode(x, texts)
    first_box = model.coder.rect(one['tokens'], one['coords']) * norm
    expected = expand_boxes(first_box, torch.tensor([[hp, wp]] * b, dtype=torch.float32),
                            model.refine_cfg['margin'], model.refine_cfg['min_size']) / norm
    assert torch.allclose(two['crop_boxes'], expected, atol=1e-5)
    assert torch.equal(two['coarse_tokens'], one['coarse_tokens'])
    tiny_cfg.model.refine = dict(test_passes=0)
    with pytest.raises(ValueError, match='test_passes'):
        _build(tiny_cfg)


@pytest.mark.parametrize('old,new', [
    ({'model.num_vertices': 16}, 'model.sequence_coder.num_vertices'),
    ({'model.with_holes': False}, 'model.sequence_coder.with_holes'),
    ({'model.head.seq_format': 'box_polygon'}, 'model.sequence_coder.seq_format'),
    ({'model.refine.enable': False}, 'model.refine=None'),
    ({'model.test_cfg': dict(use_cache=False)}, 'model.head.test_cfg.use_cache'),
    ({'model.head.input_coord_noise': 0.1}, 'head.train_cfg'),
    ({'model.head.min_vertices': 5}, 'head.test_cfg'),
    ({'model.neck.fusion_mode': 'sum'}, "variant='fpn_sum'"),
])
def test_old_option_names_fail_naming_the_new_ones(tiny_cfg, old, new):
    tiny_cfg.merge_from_dict(old)
    with pytest.raises(ValueError) as err:
        _build(tiny_cfg)
    assert new in str(err.value)
