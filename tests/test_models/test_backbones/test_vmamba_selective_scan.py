"""Selective scan: exactness of the PyTorch path vs the sequential reference, and the dispatcher."""
import importlib.util

import pytest
import torch

from recs4r_mm.models.layers import selective_scan as ss


def _inputs(batch=2, channels=8, length=100, state=3, groups=2, grouped=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(batch, channels, length, generator=g)
    delta = 0.5 * torch.randn(batch, channels, length, generator=g)
    A = -torch.rand(channels, state, generator=g) * 2 - 0.05
    shape = (batch, groups, state, length) if grouped else (batch, state, length)
    B = torch.randn(*shape, generator=g)
    C = torch.randn(*shape, generator=g)
    D = torch.randn(channels, generator=g)
    bias = 0.3 * torch.randn(channels, generator=g)
    return [t.requires_grad_() for t in (u, delta, A, B, C, D, bias)]


def _fwd_bwd(fn, ins, **kw):
    y = fn(*ins, **kw)
    gy = torch.randn(y.shape, generator=torch.Generator().manual_seed(1))
    grads = torch.autograd.grad((y * gy).sum(), [t for t in ins if t is not None])
    return y, grads


@pytest.mark.parametrize('chunk', [None, 1, 7, 32, 100, 500])
def test_torch_scan_matches_reference_forward_and_grads(chunk):
    ins = _inputs()
    y_ref, g_ref = _fwd_bwd(ss.selective_scan_ref, ins, delta_softplus=True)
    y, grads = _fwd_bwd(ss.selective_scan_torch, ins, delta_softplus=True, chunk_size=chunk)
    assert y.dtype == torch.float32 and y.shape == (2, 8, 100)
    assert (y - y_ref).abs().max() <= 1e-4
    names = ['u', 'delta', 'A', 'B', 'C', 'D', 'delta_bias']
    for name, a, b in zip(names, grads, g_ref):
        assert a.shape == b.shape, name
        assert (a - b).abs().max() <= 1e-4, f'grad of {name}'


def test_torch_scan_ungrouped_without_optional_inputs():
    u, delta, A, B, C, _, _ = _inputs(grouped=False, length=37, seed=3)
    delta = delta.detach().abs().requires_grad_()  # no softplus: keep Δ > 0
    ins = [u, delta, A, B, C]
    y_ref, g_ref = _fwd_bwd(ss.selective_scan_ref, ins)
    y, grads = _fwd_bwd(ss.selective_scan_torch, ins, chunk_size=5)
    assert (y - y_ref).abs().max() <= 1e-4
    for a, b in zip(grads, g_ref):
        assert (a - b).abs().max() <= 1e-4


def test_scan_with_vanishing_decay_stays_finite_and_exact():
    # exp(Δ A) underflows to 0 over a few steps; cumulative products must not be divided by
    u, delta, A, B, C, D, bias = _inputs(length=300, seed=5)
    with torch.no_grad():
        delta.mul_(0).add_(30.0)
        A.mul_(10)
    y_ref, g_ref = _fwd_bwd(ss.selective_scan_ref, [u, delta, A, B, C, D, bias],
                            delta_softplus=True)
    y, grads = _fwd_bwd(ss.selective_scan_torch, [u, delta, A, B, C, D, bias],
                        delta_softplus=True, chunk_size=16)
    assert torch.isfinite(y).all() and all(torch.isfinite(g).all() for g in grads)
    assert (y - y_ref).abs().max() <= 1e-4
    assert max((a - b).abs().max() for a, b in zip(grads, g_ref)) <= 1e-3  # |grad| ~ 1e3 here


def test_low_precision_inputs_are_scanned_in_fp32():
    ins = [t.detach() for t in _inputs(length=40, seed=7)]
    half = [t.to(torch.bfloat16) for t in ins]
    y = ss.selective_scan_torch(*half, delta_softplus=True)
    assert y.dtype == torch.bfloat16
    y_ref = ss.selective_scan_ref(*[t.float() for t in half], delta_softplus=True)
    assert (y.float() - y_ref).abs().max() <= 0.05 * y_ref.abs().max()


def test_linear_scan_matches_loop():
    a = torch.rand(53, 6)
    x = torch.randn(53, 6)
    h, ref = torch.zeros(6), []
    for t in range(53):
        h = a[t] * h + x[t]
        ref.append(h)
    for chunk in (None, 1, 4, 53, 80):
        assert torch.allclose(ss.linear_scan(a, x, chunk), torch.stack(ref), atol=1e-5)


def test_bad_shapes_raise_clear_errors():
    u, delta, A, B, C, D, bias = [t.detach() for t in _inputs()]
    with pytest.raises(ValueError, match='A must be'):
        ss.selective_scan_torch(u, delta, A[:3], B, C)
    with pytest.raises(ValueError, match='not divisible'):
        ss.selective_scan_torch(u, delta, A, B.repeat(1, 3, 1, 1), C.repeat(1, 3, 1, 1))
    with pytest.raises(ValueError, match='D must be'):
        ss.selective_scan_torch(u, delta, A, B, C, D[:2])
    with pytest.raises(ValueError, match='B must be'):  # time-major API wants (L, b, G, N)
        ss.selective_scan_tm(u.permute(2, 0, 1), delta.permute(2, 0, 1), A, B, C)


@pytest.fixture
def fresh_dispatch(monkeypatch):
    """Isolated dispatcher state + a recorder for print_log."""
    logs = []
    monkeypatch.setattr(ss, '_FUSED_CACHE', {})
    monkeypatch.setattr(ss, '_LOGGED', set())
    monkeypatch.setattr(ss, 'print_log', lambda msg, **kw: logs.append(msg))
    return logs


def test_dispatcher_falls_back_to_torch_on_cpu_and_logs_once(fresh_dispatch):
    has_kernel = any(
        importlib.util.find_spec(m) is not None
        for m in ('selective_scan_cuda_oflex', 'mamba_ssm'))
    name, fn = ss.get_fused_selective_scan()
    if not has_kernel:
        assert (name, fn) == (None, None)
    ins = [t.detach() for t in _inputs(length=20)]
    y1 = ss.selective_scan(*ins)
    y2 = ss.selective_scan(*ins)
    assert torch.equal(y1, y2)
    assert torch.allclose(y1, ss.selective_scan_ref(*ins, delta_softplus=True), atol=1e-5)
    assert len(fresh_dispatch) == 1 and 'pure-PyTorch' in fresh_dispatch[0]
    y_ref = ss.selective_scan(*ins, backend='ref')
    assert torch.allclose(y1, y_ref, atol=1e-5)
    with pytest.raises(ValueError, match='backend'):
        ss.selective_scan(*ins, backend='triton')
    with pytest.raises(RuntimeError, match='fused'):
        ss.selective_scan(*ins, backend='fused')  # CPU tensors


def test_dispatcher_prefers_fused_kernel_only_for_cuda(fresh_dispatch):
    calls = []

    def fake_kernel(u, delta, A, B, C, D, bias, softplus):
        calls.append((B.shape, softplus))
        return torch.zeros_like(u)

    ss._FUSED_CACHE['fused'] = ('fake_kernel', fake_kernel)
    assert ss.resolve_scan_backend(is_cuda=True) == 'fused'
    assert ss.resolve_scan_backend(is_cuda=False) == 'torch'
    assert ss.resolve_scan_backend(is_cuda=True, backend='torch') == 'torch'
    assert any('fake_kernel' in m for m in fresh_dispatch)
    assert sum('fake_kernel' in m for m in fresh_dispatch) == 1


def test_fused_argument_mismatch_falls_back(fresh_dispatch, monkeypatch):
    def bad_kernel(*args):
        raise TypeError('fwd(): incompatible function arguments')

    ss._FUSED_CACHE['fused'] = ('old_kernel', bad_kernel)
    monkeypatch.setattr(ss, 'resolve_scan_backend', lambda is_cuda, backend='auto': 'fused')
    ins = [t.detach() for t in _inputs(length=12, grouped=False)]
    y = ss.selective_scan(*ins)
    assert torch.allclose(y, ss.selective_scan_ref(*ins, delta_softplus=True), atol=1e-5)
    assert ss._FUSED_CACHE['fused'] == (None, None)
    assert any('falling back' in m for m in fresh_dispatch)
