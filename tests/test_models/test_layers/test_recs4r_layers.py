"""Attention with KV cache, coordinate grid embedding, crops, positional encoding."""
import numpy as np
import pytest
import torch

from recs4r_mm.models.layers import (CoordGridEmbedding, KVCache, MultiheadAttention,
                                     TransformerDecoderLayer, TransformerEncoderLayer,
                                     crop_and_resize, crop_to_image_coords, expand_boxes,
                                     image_to_crop_coords, sine_positional_encoding_2d)


def test_attention_matches_torch():
    torch.manual_seed(0)
    ours = MultiheadAttention(16, 4)
    ref = torch.nn.MultiheadAttention(16, 4, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([ours.q_proj.weight, ours.k_proj.weight,
                                            ours.v_proj.weight]))
        ref.in_proj_bias.copy_(torch.cat([ours.q_proj.bias, ours.k_proj.bias,
                                          ours.v_proj.bias]))
        ref.out_proj.weight.copy_(ours.out_proj.weight)
        ref.out_proj.bias.copy_(ours.out_proj.bias)
    q, kv = torch.randn(2, 5, 16), torch.randn(2, 7, 16)
    pad = torch.zeros(2, 7, dtype=torch.bool)
    pad[1, 5:] = True
    out = ours(q, kv, kv, key_padding_mask=pad)
    expect = ref(q, kv, kv, key_padding_mask=pad)[0]
    assert torch.allclose(out, expect, atol=1e-5)
    with pytest.raises(ValueError, match='divisible'):
        MultiheadAttention(10, 4)


def test_fused_attention_equals_plain_ops_in_values_and_gradients():
    """fused=True (scaled_dot_product_attention) and the plain matmul/softmax path agree,
    with a causal mask and key padding together, forward and backward."""
    torch.manual_seed(0)
    fused = MultiheadAttention(16, 4)
    plain = MultiheadAttention(16, 4, fused=False)
    plain.load_state_dict(fused.state_dict())
    x = torch.randn(3, 6, 16)
    causal = torch.ones(6, 6, dtype=torch.bool).triu(1)
    pad = torch.zeros(3, 6, dtype=torch.bool)
    pad[1, 4:] = True
    outs, grads = [], []
    for m in (fused, plain):
        xi = x.clone().requires_grad_(True)
        out = m(xi, xi, attn_mask=causal, key_padding_mask=pad)
        (out * torch.linspace(-1, 1, 16)).sum().backward()
        outs.append(out)
        grads.append((xi.grad, m.q_proj.weight.grad))
    assert torch.allclose(outs[0], outs[1], atol=1e-5)
    for a, b in zip(*grads):
        assert torch.allclose(a, b, atol=1e-5)
    # the causal mask is applied: position 0 sees only itself, so changing the rest of the
    # sequence leaves it unchanged
    y = x.clone()
    y[:, 1:] += 1.0
    assert torch.allclose(fused(y, y, attn_mask=causal)[:, 0], fused(x, x, attn_mask=causal)[:, 0],
                          atol=1e-6)


def test_traced_attention_uses_plain_ops_for_the_flop_counter():
    m = MultiheadAttention(16, 4).eval()
    graph = str(torch.jit.trace(m, (torch.randn(1, 5, 16), torch.randn(1, 7, 16))).graph)
    assert 'scaled_dot_product_attention' not in graph and 'softmax' in graph


def test_decoder_layer_cache_equals_full_causal_pass():
    torch.manual_seed(0)
    layer = TransformerDecoderLayer(16, 2, 32).eval()
    x, mem = torch.randn(2, 6, 16), torch.randn(2, 9, 16)
    causal = torch.ones(6, 6, dtype=torch.bool).triu(1)
    full = layer(x, mem, causal_mask=causal)
    cache = KVCache(2, 2, 6, 8)
    steps = [layer(x[:, t:t + 1], mem, cache=cache) for t in range(6)]
    assert torch.allclose(torch.cat(steps, 1), full, atol=1e-5)
    with pytest.raises(RuntimeError, match='overflow'):
        layer(x[:, :1], mem, cache=cache)
    # causal: changing a later input does not change earlier outputs
    x2 = x.clone()
    x2[:, 4:] += 1
    assert torch.allclose(layer(x2, mem, causal_mask=causal)[:, :4], full[:, :4], atol=1e-6)


def test_encoder_layer_padding_is_ignored():
    torch.manual_seed(0)
    layer = TransformerEncoderLayer(16, 2, 32).eval()
    x = torch.randn(1, 5, 16)
    pad = torch.tensor([[False, False, False, True, True]])
    out = layer(x, key_padding_mask=pad)
    x2 = x.clone()
    x2[:, 3:] = 100.0
    assert torch.allclose(layer(x2, key_padding_mask=pad)[:, :3], out[:, :3], atol=1e-5)


def test_coord_grid_embedding_is_bilinear():
    emb = CoordGridEmbedding(grid_size=5, embed_dims=3)
    table = emb.embedding.weight.detach().reshape(5, 5, 3)
    # grid points -> exact rows; (x, y) = (col, row)
    xy = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.25, 0.5]])
    out = emb(xy).detach()
    assert torch.allclose(out[0], table[0, 0])
    assert torch.allclose(out[1], table[4, 4])
    assert torch.allclose(out[2], table[2, 1])
    mid = emb(torch.tensor([[0.125, 0.0]])).detach()[0]
    assert torch.allclose(mid, (table[0, 0] + table[0, 1]) / 2, atol=1e-6)
    quad = emb(torch.tensor([[0.125, 0.125]])).detach()[0]
    assert torch.allclose(quad, table[:2, :2].reshape(4, 3).mean(0), atol=1e-6)
    # differentiable w.r.t. the coordinates
    xy = torch.tensor([[0.3, 0.6]], requires_grad=True)
    emb(xy).sum().backward()
    assert xy.grad is not None and xy.grad.abs().sum() > 0
    assert emb(torch.rand(2, 7, 2)).shape == (2, 7, 3)


def test_expand_boxes_margin_min_size_clip():
    hw = torch.tensor([[100., 200.], [100., 200.], [100., 200.]])  # h=100, w=200
    boxes = torch.tensor([[50., 40., 70., 60.],  # 20x20 -> 28x28 with margin 0.2
                          [0., 0., 2., 2.],  # tiny at the corner -> min size, shifted in
                          [150., 10., 210., 120.]])  # sticks out -> clipped
    out = expand_boxes(boxes, hw, margin=0.2, min_size=32)
    assert torch.allclose(out[0], torch.tensor([44., 34., 76., 66.]))  # min size 32 wins
    out2 = expand_boxes(boxes[:1], hw[:1], margin=0.5, min_size=8)
    assert torch.allclose(out2[0], torch.tensor([40., 30., 80., 70.]))
    assert torch.allclose(out[1], torch.tensor([0., 0., 32., 32.]))
    assert out[2, 2] <= 200 and out[2, 3] <= 100 and out[2, 0] >= 0 and out[2, 1] >= 0
    assert ((out[:, 2:] - out[:, :2]) > 0).all()


def test_crop_and_resize_and_coordinate_maps():
    img = torch.arange(2 * 1 * 8 * 10, dtype=torch.float32).reshape(2, 1, 8, 10)
    boxes = torch.tensor([[2., 1., 6., 5.], [0., 0., 10., 8.]])
    same = crop_and_resize(img, boxes[:1], (4, 4))
    assert torch.allclose(same[0, 0], img[0, 0, 1:5, 2:6])  # integer box at its size = slice
    full = crop_and_resize(img[1:], boxes[1:], (8, 10))
    assert torch.allclose(full, img[1:])
    xy = torch.rand(2, 5, 2)
    hw = torch.tensor([[8., 10.], [8., 10.]])
    back = image_to_crop_coords(crop_to_image_coords(xy, boxes, hw), boxes, hw)
    assert torch.allclose(back, xy, atol=1e-6)
    corner = crop_to_image_coords(torch.tensor([[[1.0, 1.0]]]), boxes[:1], hw[:1])
    assert torch.allclose(corner, torch.tensor([[[0.6, 5 / 8]]]))


def test_sine_positional_encoding():
    pos = sine_positional_encoding_2d(3, 4, 8)
    assert pos.shape == (12, 8)
    assert len({tuple(np.round(p, 5)) for p in pos.numpy().tolist()}) == 12
    with pytest.raises(ValueError):
        sine_positional_encoding_2d(3, 4, 6)
