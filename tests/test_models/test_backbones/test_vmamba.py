"""VMamba backbone: shapes, architecture, SS2D directions, options, official checkpoints, the
shared scan dispatcher and thread settings."""
import copy
import math

import pytest
import torch
from mmengine.registry import DefaultScope

from recs4r_mm.models.backbones import SS2D, VMamba, convert_vmamba_state_dict
from recs4r_mm.models.backbones.vmamba_blocks import cross_merge, cross_scan
from recs4r_mm.models.layers import selective_scan as selective_scan_module
from recs4r_mm.models.layers.selective_scan import SelectiveScanDispatcher, selective_scan_ref
from recs4r_mm.registry import MODELS

SMALL = dict(depths=[1, 1, 1, 1], dims=[16, 32, 48, 64], drop_path_rate=0.0)


def _small(**kw):
    cfg = dict(SMALL)
    cfg.update(kw)
    return VMamba(**cfg)


def test_registered_and_strides_channels_on_small_inputs():
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(dict(type='VMamba', **SMALL))
    assert isinstance(model, VMamba)
    model.eval()
    for h, w in [(64, 64), (96, 64), (50, 38)]:
        with torch.no_grad():
            outs = model(torch.randn(2, 3, h, w))
        assert len(outs) == 4
        for i, (out, c) in enumerate(zip(outs, SMALL['dims'])):
            exp_h, exp_w = h, w
            for _ in range(i + 2):  # every 3x3 s2 p1 conv: ceil(x / 2)
                exp_h, exp_w = math.ceil(exp_h / 2), math.ceil(exp_w / 2)
            assert out.shape == (2, c, exp_h, exp_w)
            assert torch.isfinite(out).all()


def test_full_tiny_config_on_64x64():
    model = VMamba(arch='tiny').eval()
    assert model.depths == [2, 2, 8, 2] and model.dims == [96, 192, 384, 768]
    op = model.layers[0].blocks[0].op
    assert (op.d_state, op.d_inner, op.dt_rank) == (1, 96, 6)
    assert model.layers[3].blocks[0].op.dt_rank == 48  # ceil(768 / 16)
    assert op.conv2d.bias is None and op.conv2d.groups == 96
    assert model.layers[2].blocks[7].drop_path.drop_prob == pytest.approx(0.2 * 11 / 13)
    assert model.layers[3].blocks[1].drop_path.drop_prob == pytest.approx(0.2)
    n_params = sum(p.numel() for p in model.parameters())
    assert 29.0e6 < n_params < 30.0e6  # ~30 M with the 0.77 M ImageNet head
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [
        (1, 96, 16, 16), (1, 192, 8, 8), (1, 384, 4, 4), (1, 768, 2, 2)]


def test_cross_scan_merge_are_adjoint_reorderings():
    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).view(2, 3, 4, 5)
    xs = cross_scan(x)
    assert torch.equal(xs[:, 0], x.flatten(2))
    assert torch.equal(xs[:, 1, :, 1], x[:, :, 1, 0])  # column-major: (h=1, w=0) second
    assert torch.equal(xs[:, 2], x.flatten(2).flip(-1))
    assert torch.equal(xs[:, 3], xs[:, 1].flip(-1))
    # merging the four scanned copies (each in its own scan order) returns 4 * x
    assert torch.equal(cross_merge(xs.reshape(2, 4, 3, 4, 5)), 4 * x)


def test_ss2d_core_equals_four_explicit_directional_scans():
    torch.manual_seed(0)
    op = SS2D(8, d_state=2, ssm_ratio=1.0, dt_rank=2, scan_chunk_size=3)
    x = torch.randn(1, 8, 3, 4)
    y = op.forward_core(x)
    H, W = 3, 4
    orders = [
        [(h, w) for h in range(H) for w in range(W)],
        [(h, w) for w in range(W) for h in range(H)],
    ]
    orders += [orders[0][::-1], orders[1][::-1]]
    expected = torch.zeros_like(x)
    A = -torch.exp(op.A_logs)
    for k, order in enumerate(orders):
        seq = torch.stack([x[0, :, h, w] for h, w in order], -1)[None]  # (1, D, L)
        proj = torch.einsum('dl,cd->cl', seq[0], op.x_proj_weight[k])
        dt, Bk, Ck = proj.split([2, 2, 2], 0)
        delta = (op.dt_projs_weight[k] @ dt)[None]
        sl = slice(k * 8, (k + 1) * 8)
        out = selective_scan_ref(seq, delta, A[sl], Bk[None], Ck[None], op.Ds[sl],
                                 op.dt_projs_bias[k], delta_softplus=True)
        for idx, (h, w) in enumerate(order):
            expected[0, :, h, w] += out[0, :, idx]
    assert (y - expected).abs().max() < 1e-4


def test_ss2d_time_major_path_matches_channel_first_reference_path():
    torch.manual_seed(3)
    fast = SS2D(16, d_state=2, scan_backend='torch', scan_chunk_size=4)
    ref = SS2D(16, d_state=2, scan_backend='ref')
    ref.load_state_dict(fast.state_dict())
    x = torch.randn(2, 16, 5, 7)
    y_fast, y_ref = fast(x), ref(x)
    assert y_fast.shape == y_ref.shape == (2, 16, 5, 7)
    assert (y_fast - y_ref).abs().max() < 1e-4
    gy = torch.randn_like(y_ref)
    x.requires_grad_()
    g_fast = torch.autograd.grad((fast(x) * gy).sum(), [x] + list(fast.parameters()))
    g_ref = torch.autograd.grad((ref(x) * gy).sum(), [x] + list(ref.parameters()))
    names = ['x'] + [n for n, _ in fast.named_parameters()]
    for name, a, b in zip(names, g_fast, g_ref):
        assert (a - b).abs().max() <= 1e-4 * max(1.0, b.abs().max().item()), name


def test_backward_reaches_every_parameter():
    model = _small(drop_path_rate=0.0).train()  # (a dropped branch would get no gradient)
    outs = model(torch.randn(1, 3, 64, 64))  # last stage 2x2: L > 1, so A_logs gets gradient
    sum(o.square().mean() for o in outs).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_gradient_checkpointing_gives_same_gradients():
    torch.manual_seed(0)
    plain, ckpt = _small(), _small(with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(1, 3, 32, 32)
    grads = []
    for model in (plain, ckpt):
        model.train()
        sum(o.sum() for o in model(x)).backward()
        grads.append(model.layers[1].blocks[0].op.A_logs.grad.clone())
    assert torch.allclose(grads[0], grads[1], atol=1e-5)


def test_drop_path_out_indices_and_norms():
    model = _small(drop_path_rate=0.5, out_indices=(1, -1))
    assert model.out_indices == (1, 3)
    assert model.layers[0].blocks[0].drop_path.__class__.__name__ == 'Identity'  # rate 0
    assert model.layers[3].blocks[0].drop_path.drop_prob == pytest.approx(0.5)
    assert not hasattr(model, 'outnorm0') and hasattr(model, 'outnorm3')
    x = torch.randn(8, 3, 32, 32)
    torch.manual_seed(1)
    a = model.train()(x)
    torch.manual_seed(2)
    b = model(x)
    assert not torch.allclose(a[1], b[1])  # stochastic depth active in training
    model.eval()
    c, d = model(x), model(x)
    assert [t.shape[1] for t in c] == [32, 64]
    assert torch.equal(c[1], d[1])
    # per-output LayerNorm: zero mean / unit variance over channels at init
    assert c[0].mean(1).abs().max() < 1e-4 and (c[0].var(1, unbiased=False) - 1).abs().max() < 1e-2
    raw = _small(out_norms=False).eval()
    assert not any(k.startswith('outnorm') for k in raw.state_dict())
    with pytest.raises(ValueError, match='out_indices'):
        _small(out_indices=(4, ))
    with pytest.raises(KeyError, match='unknown arch'):
        VMamba(arch='huge')


def test_frozen_stages():
    model = _small(frozen_stages=1)
    model.train()
    assert not any(p.requires_grad for p in model.patch_embed.parameters())
    assert not any(p.requires_grad for p in model.layers[0].parameters())
    assert all(p.requires_grad for p in model.layers[1].parameters())
    assert not model.layers[0].training and model.layers[1].training


def _official_state_dict(depths, dims, d_state=1, in_ch=3, num_classes=5, seed=0):
    """A state dict laid out like the official VMamba release (written key by key)."""
    g = torch.Generator().manual_seed(seed)

    def r(*shape):
        return torch.randn(*shape, generator=g)

    sd = {
        'patch_embed.0.weight': r(dims[0] // 2, in_ch, 3, 3), 'patch_embed.0.bias': r(dims[0] // 2),
        'patch_embed.2.weight': r(dims[0] // 2), 'patch_embed.2.bias': r(dims[0] // 2),
        'patch_embed.5.weight': r(dims[0], dims[0] // 2, 3, 3), 'patch_embed.5.bias': r(dims[0]),
        'patch_embed.7.weight': r(dims[0]), 'patch_embed.7.bias': r(dims[0]),
    }
    for i, (depth, d) in enumerate(zip(depths, dims)):
        R, N = math.ceil(d / 16), d_state
        for j in range(depth):
            p = f'layers.{i}.blocks.{j}.'
            sd.update({
                p + 'norm.weight': r(d), p + 'norm.bias': r(d),
                p + 'op.x_proj_weight': r(4, R + 2 * N, d),
                p + 'op.dt_projs_weight': r(4, d, R), p + 'op.dt_projs_bias': r(4, d),
                p + 'op.A_logs': r(4 * d, N), p + 'op.Ds': r(4 * d),
                p + 'op.in_proj.weight': r(d, d), p + 'op.conv2d.weight': r(d, 1, 3, 3),
                p + 'op.out_norm.weight': r(d), p + 'op.out_norm.bias': r(d),
                p + 'op.out_proj.weight': r(d, d),
                p + 'norm2.weight': r(d), p + 'norm2.bias': r(d),
                p + 'mlp.fc1.weight': r(4 * d, d), p + 'mlp.fc1.bias': r(4 * d),
                p + 'mlp.fc2.weight': r(d, 4 * d), p + 'mlp.fc2.bias': r(d),
            })
        if i < len(depths) - 1:
            sd.update({
                f'layers.{i}.downsample.1.weight': r(dims[i + 1], d, 3, 3),
                f'layers.{i}.downsample.1.bias': r(dims[i + 1]),
                f'layers.{i}.downsample.3.weight': r(dims[i + 1]),
                f'layers.{i}.downsample.3.bias': r(dims[i + 1]),
            })
    sd.update({
        'classifier.norm.weight': r(dims[-1]), 'classifier.norm.bias': r(dims[-1]),
        'classifier.head.weight': r(num_classes, dims[-1]), 'classifier.head.bias': r(num_classes),
    })
    return sd


def test_loads_official_checkpoint_through_init_cfg(tmp_path):
    official = _official_state_dict(SMALL['depths'], SMALL['dims'])
    path = tmp_path / 'vssm_official.pth'
    torch.save({'model': official, 'optimizer': {}, 'epoch': 3}, path)
    model = _small(init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.init_weights()
    state = model.state_dict()
    loaded = [k for k in official if not k.startswith('classifier.')]
    assert len(loaded) == len(official) - 4
    for key in loaded:
        assert torch.equal(state[key], official[key]), key
    # everything except the per-output norms came from the checkpoint
    untouched = [k for k in state if k not in official]
    assert untouched and all(k.startswith('outnorm') for k in untouched)
    assert all(torch.equal(state[k], before[k]) for k in untouched)
    assert not any(k.startswith('classifier') for k in state)
    model.eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 32, 32))
    assert all(torch.isfinite(o).all() for o in outs)


def test_checkpoint_mapping_variants(tmp_path):
    official = _official_state_dict(SMALL['depths'], SMALL['dims'], seed=4)
    # a detector checkpoint: mmengine 'state_dict', 'backbone.' prefix, 1x1 conv layout
    det = {'backbone.' + k: v for k, v in official.items() if not k.startswith('classifier')}
    det['backbone.layers.0.blocks.0.op.in_proj.weight'] = \
        official['layers.0.blocks.0.op.in_proj.weight'][:, :, None, None]
    det['neck.lateral_convs.0.conv.weight'] = torch.zeros(1)
    path = tmp_path / 'det.pth'
    torch.save({'state_dict': det, 'meta': {}}, path)
    model = _small(init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    assert torch.equal(model.layers[0].blocks[0].op.in_proj.weight,
                       official['layers.0.blocks.0.op.in_proj.weight'])
    assert torch.equal(model.layers[2].downsample[1].weight,
                       official['layers.2.downsample.1.weight'])
    # legacy names of the first public release are renamed like the official loader does
    legacy = {
        'patch_embed.proj.weight': torch.ones(2), 'layers.1.blocks.0.ln_1.bias': torch.ones(2),
        'layers.1.blocks.0.self_attention.Ds': torch.ones(2), 'head.weight': torch.ones(2),
        'norm.weight': torch.ones(2)
    }
    mapped = convert_vmamba_state_dict({'model': legacy})
    assert sorted(mapped) == ['layers.1.blocks.0.norm.bias', 'layers.1.blocks.0.op.Ds',
                              'patch_embed.0.weight']


def test_one_shared_scan_dispatcher_logged_once(monkeypatch):
    logs = []
    monkeypatch.setattr(selective_scan_module, 'print_log', lambda msg, **kw: logs.append(msg))
    model = _small().eval()
    ops = [blk.op for layer in model.layers for blk in layer.blocks]
    assert isinstance(model.scan_dispatcher, SelectiveScanDispatcher)
    assert all(op.scan_dispatcher is model.scan_dispatcher for op in ops)
    assert not model.scan_dispatcher.discovered  # nothing imported before use
    with torch.no_grad():
        model(torch.randn(1, 3, 32, 32))
        model(torch.randn(1, 3, 32, 32))
    assert len(logs) == 1 and 'pure-PyTorch' in logs[0]
    clone = copy.deepcopy(model)
    clone_ops = [blk.op for layer in clone.layers for blk in layer.blocks]
    assert clone.scan_dispatcher is not model.scan_dispatcher
    assert all(op.scan_dispatcher is clone.scan_dispatcher for op in clone_ops)
    assert SS2D(8).scan_dispatcher is not SS2D(8).scan_dispatcher  # stand-alone: its own
    with pytest.raises(ValueError, match='scan_backend'):
        SS2D(8, scan_backend='triton')


def test_forward_backward_leave_thread_settings_alone(monkeypatch):
    previous = torch.get_num_threads()
    torch.set_num_threads(2)  # a library that switched threads would do it now
    calls = []
    monkeypatch.setattr(torch, 'set_num_threads', lambda n: calls.append(n))
    monkeypatch.setattr(torch, 'set_num_interop_threads', lambda n: calls.append(n))
    try:
        model = _small().train()
        before = torch.get_num_threads()
        sum(o.mean() for o in model(torch.randn(1, 3, 32, 32))).backward()
        assert torch.get_num_threads() == before == 2
        assert calls == []
    finally:
        monkeypatch.undo()
        torch.set_num_threads(previous)
