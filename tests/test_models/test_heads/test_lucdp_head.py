"""LUCDP head: teacher forcing, KV-cached == uncached decoding, decoding constraints, losses."""
import math

import numpy as np
import pytest
import torch

from recs4r_mm.models.heads import LUCDPHead, add_box_prefix, ring_ids_from_tokens, split_box_prefix
from recs4r_mm.structures import (TOKEN_COORD, TOKEN_END, TOKEN_HOLE, TOKEN_OBJ, TOKEN_SEP,
                                  TOKEN_START, mask_to_sequence, pad_sequences, sequence_to_box,
                                  sequence_to_polygons)


def _head(mm_scope, **kw):
    cfg = dict(embed_dims=16, num_layers=2, num_heads=2, ffn_dims=32, dropout=0.0,
               grid_size=8, max_len=24, gcl_raster_size=16)
    cfg.update(kw)
    torch.manual_seed(0)
    return LUCDPHead(**cfg)


def _targets():
    yy, xx = np.mgrid[:32, :32]
    ring = ((yy - 16)**2 + (xx - 16)**2 < 144) & ((yy - 16)**2 + (xx - 16)**2 >= 25)
    rect = np.zeros((32, 32), bool)
    rect[4:20, 6:28] = True
    seqs = [mask_to_sequence(rect, 12), mask_to_sequence(ring, 16)]
    return pad_sequences(seqs), (rect, ring)


def test_teacher_forcing_shapes_and_causality(mm_scope):
    head = _head(mm_scope).eval()
    (tokens, coords), _ = _targets()
    mem = torch.randn(2, 10, 16)
    logits, xy = head.forward_train(mem, None, tokens, coords)
    t = tokens.shape[1] - 1
    assert logits.shape == (2, t, 5) and xy.shape == (2, t, 2)
    assert ((xy >= 0) & (xy <= 1)).all()
    coords2 = coords.clone()
    coords2[:, 8:] = torch.rand_like(coords2[:, 8:])
    logits2, _ = head.forward_train(mem, None, tokens, coords2)
    assert torch.allclose(logits2[:, :8], logits[:, :8], atol=1e-6)
    assert not torch.allclose(logits2[:, 8:], logits[:, 8:])


@pytest.mark.parametrize('seq_format', ['contour', 'box_polygon'])
def test_cached_and_uncached_decoding_agree(mm_scope, seq_format):
    head = _head(mm_scope, seq_format=seq_format, max_len=20).double().eval()
    g = torch.Generator().manual_seed(1)
    mem = torch.randn(3, 12, 16, generator=g, dtype=torch.float64)
    pad = torch.zeros(3, 12, dtype=torch.bool)
    pad[2, 9:] = True
    a = head.predict(mem, pad, use_cache=True)
    b = head.predict(mem, pad, use_cache=False)
    assert torch.equal(a['tokens'], b['tokens'])
    assert torch.allclose(a['coords'], b['coords'], atol=1e-10)
    assert torch.allclose(a['scores'], b['scores'], atol=1e-10)
    # the cache is the default
    assert head.test_cfg['use_cache']
    c = head.predict(mem, pad)
    assert torch.equal(c['tokens'], a['tokens'])


def _check_constraints(tokens, coords, max_len, min_vertices, n_prefix=0):
    for seq, xy in zip(tokens.tolist(), coords):
        assert seq[0] == TOKEN_START
        body = seq[1:]
        end = body.index(TOKEN_END)  # always terminated
        assert end < max_len
        assert all(t == -1 for t in body[end + 1:])
        body = body[n_prefix:end]
        assert TOKEN_START not in body
        rings, cur = [], 0
        for t in body:
            if t == TOKEN_COORD:
                cur += 1
            else:
                assert t in (TOKEN_SEP, TOKEN_HOLE)
                rings.append(cur)
                cur = 0
        rings.append(cur)
        assert min(rings) >= 3, rings  # never fewer than 3 vertices per contour
        assert sum(rings) >= min_vertices
        parts = sequence_to_polygons(torch.tensor(seq), xy, (32, 32))
        assert parts and sum(len(p['outer']) for p in parts) >= 3


@pytest.mark.parametrize('bias', [TOKEN_END, TOKEN_SEP, TOKEN_COORD, TOKEN_HOLE])
def test_decoding_constraints(mm_scope, bias):
    head = _head(mm_scope, max_len=14, test_cfg=dict(min_vertices=5)).eval()
    with torch.no_grad():  # push the untrained head towards one class
        head.cls_branch.weight.mul_(0.01)
        head.cls_branch.bias.fill_(-50.0)
        head.cls_branch.bias[TOKEN_COORD] = 0.0
        head.cls_branch.bias[bias] = 50.0
    out = head.predict(torch.randn(4, 6, 16))
    _check_constraints(out['tokens'], out['coords'], 14, 5)
    if bias in (TOKEN_SEP, TOKEN_HOLE):  # separators wherever allowed, each ring >= 3
        assert ((out['tokens'] == bias).sum(1) >= 2).all()
        # a tight budget: separators may not eat the slots min_vertices needs
        tight = head.predict(torch.randn(2, 6, 16), max_len=11, min_vertices=10)
        assert ((tight['tokens'] == TOKEN_COORD).sum(1) == 10).all()
        _check_constraints(tight['tokens'], tight['coords'], 11, 10)
        roomy = head.predict(torch.randn(2, 6, 16), max_len=14, min_vertices=9)
        _check_constraints(roomy['tokens'], roomy['coords'], 14, 9)
        # 3 + sep + 3 + sep + 5 coords (>= 9) + END fills the 14 slots exactly
        assert ((roomy['tokens'] == bias).sum(1) == 2).all()
    if bias == TOKEN_COORD:  # runs to the maximum length, END forced last
        assert out['tokens'].shape[1] == 15 and (out['tokens'][:, -1] == TOKEN_END).all()
    if bias == TOKEN_END:  # stops as soon as allowed: exactly min_vertices vertices
        assert ((out['tokens'] == TOKEN_COORD).sum(1) == 5).all()
    assert ((out['scores'] > 0) & (out['scores'] <= 1)).all()
    with pytest.raises(ValueError, match='max_len'):
        head.predict(torch.randn(1, 6, 16), max_len=4, min_vertices=5)
    with pytest.raises(ValueError, match='max_len'):
        _head(mm_scope, max_len=3)


def test_box_polygon_format_prefix(mm_scope):
    head = _head(mm_scope, seq_format='box_polygon', max_len=16).eval()
    with torch.no_grad():
        head.cls_branch.bias.zero_()
        head.cls_branch.bias[TOKEN_END] = 50.0
    out = head.predict(torch.randn(2, 6, 16))
    toks = out['tokens']
    assert (toks[:, 1:3] == TOKEN_COORD).all() and (toks[:, 3] == TOKEN_SEP).all()
    _check_constraints(toks, out['coords'], 16, 3, n_prefix=3)
    boxes, rest_t, rest_c = split_box_prefix(toks, out['coords'])
    assert boxes.shape == (2, 4) and (boxes[:, 2:] >= boxes[:, :2]).all()
    assert (rest_t[:, 0] == TOKEN_START).all() and (rest_t[:, 1] == TOKEN_COORD).all()
    # add/split round trip on a target
    (tokens, coords), _ = _targets()
    t0, c0 = tokens[0][tokens[0] >= 0].numpy(), coords[0][:int((tokens[0] >= 0).sum())].numpy()
    t1, c1 = add_box_prefix(t0, c0, [0.1, 0.2, 0.5, 0.6])
    assert t1.tolist()[:4] == [TOKEN_START, TOKEN_COORD, TOKEN_COORD, TOKEN_SEP]
    b, t2, c2 = split_box_prefix(torch.from_numpy(t1)[None], torch.from_numpy(c1)[None])
    assert torch.allclose(b[0], torch.tensor([0.1, 0.2, 0.5, 0.6]))
    assert np.array_equal(t2[0].numpy(), t0) and np.allclose(c2[0].numpy(), c0)


def test_ring_ids_from_tokens():
    toks = torch.tensor([[TOKEN_COORD, TOKEN_COORD, TOKEN_COORD, TOKEN_HOLE, TOKEN_COORD,
                          TOKEN_COORD, TOKEN_COORD, TOKEN_SEP, TOKEN_COORD, TOKEN_COORD,
                          TOKEN_COORD, TOKEN_END, -1]])
    ring, hole = ring_ids_from_tokens(toks)
    assert ring.tolist() == [[0, 0, 0, -1, 1, 1, 1, -1, 2, 2, 2, -1, -1]]
    assert hole.tolist()[0] == [False] * 4 + [True] * 3 + [False] * 6
    ring2, _ = ring_ids_from_tokens(toks, num_prefix=2)
    assert ring2[0, :3].tolist() == [-1, -1, 0]


def test_losses_finite_and_coarse_box(mm_scope):
    head = _head(mm_scope)
    (tokens, coords), masks = _targets()
    mem = torch.randn(2, 10, 16, requires_grad=True)
    logits, xy = head.forward_train(mem, None, tokens, coords)
    losses = head.loss_sequence(logits, xy, tokens, coords, torch.tensor([1.0, 1.0]))
    assert set(losses) == {'loss_cls', 'loss_l1', 'loss_smooth_l2', 'acc_token'}
    assert all(torch.isfinite(v) for v in losses.values())
    # a zero-weight sample does not count
    only0 = head.loss_sequence(logits, xy, tokens, coords, torch.tensor([1.0, 0.0]))
    single = head.loss_sequence(logits[:1], xy[:1], tokens[:1], coords[:1])
    assert torch.allclose(only0['loss_l1'], single['loss_l1'], atol=1e-6)
    # the box of a perfect teacher-forced contour is the mask's box (outer ring only)
    from recs4r_mm.models.task_modules import ContourSequenceCoder
    rect = ContourSequenceCoder().rect
    boxes = rect(tokens[:, 1:], coords[:, 1:])
    assert torch.allclose(boxes[0], torch.tensor([6, 4, 28, 20]) / 32.0, atol=1e-6)
    ring_box = sequence_to_box(tokens[1], coords[1], (32, 32)) / 32.0  # Rect of the contour
    assert torch.allclose(boxes[1], torch.from_numpy(ring_box).float(), atol=1e-6)
    lc = head.loss_coarse(boxes, boxes.detach())
    assert lc['loss_coarse_l1'] < 1e-6 and lc['loss_coarse_giou'] < 1e-4
    gt = torch.from_numpy(np.stack([m[::2, ::2] for m in masks])).float()
    gcl_perfect = head.loss_gcl_by_outputs(coords[:, 1:], tokens, gt)['loss_gcl']
    gcl = head.loss_gcl_by_outputs(xy, tokens, gt)['loss_gcl']
    assert gcl > gcl_perfect
    total = sum(v for k, v in losses.items() if 'loss' in k) + gcl + sum(
        head.loss_coarse(rect(tokens[:, 1:], xy), boxes).values())
    total.backward()
    assert mem.grad.abs().sum() > 0
    for name, p in head.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    # GCL off: no rasterisation, zero loss still on the graph
    head_off = _head(mm_scope, loss_gcl=dict(type='GradientConsistencyLoss', loss_weight=0.0))
    off = head_off.loss_gcl_by_outputs(xy, tokens, gt)['loss_gcl']
    assert off == 0 and off.requires_grad


def test_self_feed_replaces_inputs_with_own_predictions(mm_scope):
    """self_feed_prob=1: every coordinate input after START is the model's own prediction of it
    (no gradient through the feed); prob 0 or eval mode: plain teacher forcing."""
    (tokens, coords), _ = _targets()
    mem = torch.randn(2, 10, 16)
    in_tokens, in_coords = tokens[:, :-1], coords[:, :-1]
    head = _head(mm_scope, train_cfg=dict(self_feed_prob=1.0)).train()
    fed = head.self_feed(mem, None, in_tokens, in_coords)
    _, own = head(mem, None, in_tokens, in_coords)
    assert torch.equal(fed[:, 0], in_coords[:, 0])
    assert torch.allclose(fed[:, 1:], own[:, :-1].detach(), atol=1e-6)
    assert not fed.requires_grad
    # the training pass uses the fed inputs and still backpropagates into the head
    logits, xy = head.forward_train(mem, None, tokens, coords)
    expected_logits, _ = head(mem, None, in_tokens, fed)
    assert torch.allclose(logits, expected_logits, atol=1e-5)
    xy.sum().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in head.parameters())
    # eval mode never self-feeds
    head.eval()
    plain, _ = head(mem, None, in_tokens, in_coords)
    assert torch.allclose(head.forward_train(mem, None, tokens, coords)[0], plain, atol=1e-6)
    with pytest.raises(ValueError, match='self_feed_prob'):
        _head(mm_scope, train_cfg=dict(self_feed_prob=1.5))
    # the old top-level names say where they went
    with pytest.raises(ValueError, match='self_feed_prob moved to head.train_cfg'):
        _head(mm_scope, self_feed_prob=0.5)
    with pytest.raises(ValueError, match='use_cache moved to head.test_cfg'):
        _head(mm_scope, use_cache=False)


def test_pointer_mode_and_memory_position_code(mm_scope):
    """reg_mode='pointer' decodes over the visual grid (cached == uncached), needs memory_hw;
    memory_pos adds the grid's position code to the cross-attention keys."""
    head = _head(mm_scope, reg_mode='pointer', max_len=20).double().eval()
    g = torch.Generator().manual_seed(2)
    mem = torch.randn(2, 3 * 4 + 5, 16, generator=g, dtype=torch.float64)  # 3x4 grid + text
    a = head.predict(mem, None, use_cache=True, memory_hw=(3, 4))
    b = head.predict(mem, None, use_cache=False, memory_hw=(3, 4))
    assert torch.equal(a['tokens'], b['tokens'])
    assert torch.allclose(a['coords'], b['coords'], atol=1e-10)
    (tokens, coords), _ = _targets()
    logits, xy = head.forward_train(mem.float().double(), None, tokens, coords.double(), (3, 4))
    assert ((xy >= 0) & (xy <= 1)).all() and logits.shape[:2] == xy.shape[:2]
    with pytest.raises(ValueError, match='memory_hw'):
        head.predict(mem)
    with pytest.raises(ValueError, match='visual tokens'):
        head.predict(mem, memory_hw=(5, 4))
    with pytest.raises(ValueError, match='reg_mode'):
        _head(mm_scope, reg_mode='heatmap')
    # the position code changes the cross-attention only when the grid is known
    mem32 = torch.randn(2, 17, 16)
    with_pos = _head(mm_scope).eval()
    no_pos = _head(mm_scope, memory_pos=False).eval()
    la, _ = with_pos.forward_train(mem32, None, tokens, coords, (3, 4))
    lb, _ = no_pos.forward_train(mem32, None, tokens, coords, (3, 4))
    lc, _ = with_pos.forward_train(mem32, None, tokens, coords)
    assert not torch.allclose(la, lb)
    assert torch.allclose(lb, lc, atol=1e-6)


@pytest.mark.parametrize('bias', [TOKEN_END, TOKEN_OBJ])
def test_generalized_grammar(mm_scope, bias):
    """END may follow START only in a generalized head; OBJ is a separator like SEP."""
    head = _head(mm_scope, max_len=14, generalized=True).eval()
    assert head.cls_branch.out_features == 6 and _head(mm_scope).cls_branch.out_features == 5
    with torch.no_grad():
        head.cls_branch.weight.mul_(0.01)
        head.cls_branch.bias.fill_(-50.0)
        head.cls_branch.bias[TOKEN_COORD] = 0.0
        head.cls_branch.bias[bias] = 50.0
    out = head.predict(torch.randn(3, 6, 16))
    if bias == TOKEN_END:  # "no target"
        assert out['tokens'].tolist() == [[TOKEN_START, TOKEN_END]] * 3
    else:  # objects of >= 3 vertices separated by OBJ wherever allowed
        tokens = out['tokens'][0].tolist()
        c, o = [TOKEN_COORD], [TOKEN_OBJ]
        # 14 slots: a last OBJ must leave room for 3 vertices and END
        assert tokens == [TOKEN_START] + c * 3 + o + c * 3 + o + c * 5 + [TOKEN_END]
    with pytest.raises(ValueError, match='generalized'):
        _head(mm_scope, generalized=True, seq_format='box_polygon')


@pytest.mark.parametrize('thr,empty', [(None, False), (0.25, True), (0.35, False)])
def test_no_target_threshold(mm_scope, thr, empty):
    """test_cfg.no_target_thr: the first generated token is END iff P(END) >= thr (P over
    the two tokens allowed there); no_target_prob reports that probability."""
    head = _head(mm_scope, max_len=14, generalized=True, test_cfg=dict(no_target_thr=thr))
    head.eval()
    with torch.no_grad():
        head.cls_branch.weight.zero_()
        head.cls_branch.bias.fill_(-50.0)
        head.cls_branch.bias[TOKEN_COORD] = 0.0
        head.cls_branch.bias[TOKEN_END] = math.log(0.3 / 0.7)  # P(END) = 0.3 at the first step
    out = head.predict(torch.randn(2, 6, 16))
    assert out['no_target_prob'].tolist() == pytest.approx([0.3, 0.3], abs=1e-6)
    firsts = out['tokens'][:, 1].tolist()
    assert firsts == ([TOKEN_END] * 2 if empty else [TOKEN_COORD] * 2)
    assert (out['tokens'].shape[1] == 2) == empty
    assert _head(mm_scope).eval().predict(torch.randn(2, 6, 16))['no_target_prob'].tolist() == \
        [0.0, 0.0]  # a classic head has no such decision
    for bad in (dict(), dict(generalized=True)):  # a classic head; a value outside [0, 1]
        with pytest.raises(ValueError, match='no_target_thr'):
            _head(mm_scope, test_cfg=dict(no_target_thr=0.3 if not bad else 1.5), **bad)


def test_first_token_weight(mm_scope):
    """train_cfg.first_token_weight scales L_cls on the first generated token only."""
    import torch.nn.functional as F
    (tokens, coords), _ = _targets()
    logits = torch.randn(tokens.shape[0], tokens.shape[1] - 1, 5, generator=torch.Generator()
                         .manual_seed(0))
    xy = torch.rand(tokens.shape[0], tokens.shape[1] - 1, 2)
    got = _head(mm_scope, train_cfg=dict(first_token_weight=10.0)).loss_sequence(
        logits, xy, tokens, coords)['loss_cls']
    tgt = tokens[:, 1:]
    valid = tgt >= 0
    ce = F.cross_entropy(logits[valid], tgt[valid], reduction='none')
    w = torch.ones_like(tgt, dtype=torch.float)
    w[:, 0] = 10.0
    assert got.item() == pytest.approx((ce * w[valid]).sum().item() / w[valid].sum().item(),
                                       rel=1e-5)
    plain = _head(mm_scope).loss_sequence(logits, xy, tokens, coords)['loss_cls']
    assert plain.item() == pytest.approx(ce.mean().item(), rel=1e-5)
