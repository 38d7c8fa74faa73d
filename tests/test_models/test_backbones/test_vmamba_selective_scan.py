"""Selective scan: exactness of the PyTorch path vs the sequential reference, and the dispatcher."""
import copy
import pickle
import sys
import types

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


# --------------------------------------------------------------------------------------------
# Dispatcher (docs/vmamba.md, "The dispatcher").
# --------------------------------------------------------------------------------------------
@pytest.fixture
def logs(monkeypatch):
    """Records print_log messages; the default dispatcher is reset before and after."""
    recorded = []
    monkeypatch.setattr(ss, 'print_log', lambda msg, **kw: recorded.append(msg))
    ss.default_dispatcher.reset()
    yield recorded
    ss.default_dispatcher.reset()


def _fake_loader(calls, available=lambda: True, result=None):
    """A kernel loader that counts its calls and is 'importable' while ``available()``."""

    def kernel(u, delta, A, B, C, D, bias, softplus):
        calls.append(('run', tuple(B.shape), softplus))
        return torch.zeros_like(u) if result is None else result

    def load():
        calls.append('load')
        if not available():
            raise ImportError('No module named mamba_ssm')
        return kernel

    return load


@pytest.mark.parametrize('is_cuda', [False, True])
@pytest.mark.parametrize('available', [False, True])
def test_decide_fused_only_when_importable_and_on_cuda(is_cuda, available):
    decide = ss.SelectiveScanDispatcher.decide
    expected = 'fused' if (is_cuda and available) else 'torch'
    assert decide('auto', is_cuda, available) == expected
    assert decide('torch', is_cuda, available) == 'torch'
    assert decide('ref', is_cuda, available) == 'ref'
    if is_cuda and available:
        assert decide('fused', is_cuda, available) == 'fused'
    else:
        with pytest.raises(RuntimeError, match='fused'):
            decide('fused', is_cuda, available)
    with pytest.raises(ValueError, match='backend'):
        decide('triton', is_cuda, available)


def test_dispatcher_lifecycle_lazy_cached_and_reset(logs):
    calls = []
    d = ss.SelectiveScanDispatcher([('mamba_ssm', _fake_loader(calls))])
    assert not d.discovered and calls == []  # construction imports nothing
    assert d.choose(is_cuda=False) == 'torch'  # CPU tensors: PyTorch, and no discovery
    assert not d.discovered and calls == []
    assert d.choose(is_cuda=True) == 'fused'  # first CUDA use discovers
    assert d.discovered and calls == ['load']
    assert d.choose(is_cuda=True) == 'fused' and d.choose(is_cuda=False) == 'torch'
    assert d.fused_kernel()[0] == 'mamba_ssm' and calls == ['load']  # cached on the instance
    assert sum('mamba_ssm' in m for m in logs) == 1  # each choice logged once
    assert sum('pure-PyTorch' in m for m in logs) == 1
    n_logs = len(logs)
    d.reset()
    assert not d.discovered and 'not discovered' in repr(d)
    assert d.choose(is_cuda=True) == 'fused'
    assert calls == ['load', 'load'] and len(logs) == n_logs + 1  # rediscovered, logged again
    # instances are independent: another one has its own (empty) state
    assert not ss.SelectiveScanDispatcher([('x', _fake_loader([]))]).discovered


def test_reset_picks_up_a_kernel_installed_in_a_running_process(logs):
    installed, calls = [False], []
    d = ss.SelectiveScanDispatcher([('mamba_ssm', _fake_loader(calls, lambda: installed[0]))])
    assert d.choose(is_cuda=True) == 'torch' and d.fused_kernel() == (None, None)
    assert any('no fused kernel importable' in m for m in logs)
    installed[0] = True
    assert d.choose(is_cuda=True) == 'torch'  # cached "unavailable" until reset
    d.reset()
    assert d.choose(is_cuda=True) == 'fused'
    assert calls == ['load', 'load']


def test_real_loaders_choose_mamba_ssm_only_when_importable_and_on_cuda(logs, monkeypatch):
    # nothing importable: both kernels' modules blocked
    monkeypatch.setitem(sys.modules, 'selective_scan_cuda_oflex', None)
    monkeypatch.setitem(sys.modules, 'mamba_ssm', None)
    d = ss.SelectiveScanDispatcher()
    assert d.fused_kernel() == (None, None)
    assert d.choose(is_cuda=True) == 'torch' and d.choose(is_cuda=False) == 'torch'
    # a (fake) mamba_ssm becomes importable
    calls = []
    iface = types.ModuleType('mamba_ssm.ops.selective_scan_interface')

    def selective_scan_fn(u, delta, A, B, C, D=None, z=None, delta_bias=None,
                          delta_softplus=False, return_last_state=False):
        calls.append(delta_softplus)
        return torch.zeros_like(u)

    iface.selective_scan_fn = selective_scan_fn
    for name, mod in (('mamba_ssm', types.ModuleType('mamba_ssm')),
                      ('mamba_ssm.ops', types.ModuleType('mamba_ssm.ops')),
                      ('mamba_ssm.ops.selective_scan_interface', iface)):
        monkeypatch.setitem(sys.modules, name, mod)
    sys.modules['mamba_ssm'].ops = sys.modules['mamba_ssm.ops']
    sys.modules['mamba_ssm.ops'].selective_scan_interface = iface
    d.reset()
    assert d.choose(is_cuda=False) == 'torch'  # importable, but CPU tensors
    assert d.choose(is_cuda=True) == 'fused'
    name, fn = d.fused_kernel()
    assert name == 'mamba_ssm'
    u = torch.randn(1, 4, 5)
    fn(u, u, torch.randn(4, 1), u[:, :1, None], u[:, :1, None], None, None, True)
    assert calls == [True]
    # CPU tensors through the dispatcher never reach the kernel
    ins = [t.detach() for t in _inputs(length=9)]
    assert torch.equal(d(*ins), ss.selective_scan_torch(*ins, delta_softplus=True))
    assert calls == [True]


def test_default_dispatcher_uses_pytorch_on_cpu_and_logs_once(logs):
    ins = [t.detach() for t in _inputs(length=20)]
    y1 = ss.selective_scan(*ins)
    y2 = ss.selective_scan(*ins)
    assert torch.equal(y1, y2)
    assert torch.allclose(y1, ss.selective_scan_ref(*ins, delta_softplus=True), atol=1e-5)
    assert len(logs) == 1 and 'pure-PyTorch' in logs[0]
    assert not ss.default_dispatcher.discovered  # CPU 'auto' never imports a kernel
    y_ref = ss.selective_scan(*ins, backend='ref')
    assert torch.allclose(y1, y_ref, atol=1e-5)
    with pytest.raises(ValueError, match='backend'):
        ss.selective_scan(*ins, backend='triton')
    with pytest.raises(RuntimeError, match='fused'):
        ss.selective_scan(*ins, backend='fused')  # CPU tensors


def test_fused_call_gets_grouped_fp32_inputs(logs, monkeypatch):
    calls = []
    d = ss.SelectiveScanDispatcher([('fake', _fake_loader(calls))])
    monkeypatch.setattr(d, 'choose', lambda is_cuda, backend='auto': 'fused')  # "CUDA"
    ins = [t.detach() for t in _inputs(length=12, grouped=False)]
    y = d(*ins)
    assert torch.equal(y, torch.zeros_like(ins[0]))
    assert calls == ['load', ('run', (2, 1, 3, 12), True)]  # (b, N, L) -> (b, 1, N, L)


def test_fused_argument_mismatch_falls_back(logs, monkeypatch):
    def bad_kernel(*args):
        raise TypeError('fwd(): incompatible function arguments')

    d = ss.SelectiveScanDispatcher([('old_kernel', lambda: bad_kernel)])
    monkeypatch.setattr(d, 'choose', lambda is_cuda, backend='auto': 'fused')
    ins = [t.detach() for t in _inputs(length=12, grouped=False)]
    y = d(*ins)
    assert torch.allclose(y, ss.selective_scan_ref(*ins, delta_softplus=True), atol=1e-5)
    assert d.fused_kernel() == (None, None)
    assert any('falling back' in m for m in logs)


def test_copies_start_undiscovered():
    d = ss.SelectiveScanDispatcher()
    d.choose(is_cuda=True)  # discovers (nothing importable here, or a real kernel)
    for clone in (copy.deepcopy(d), pickle.loads(pickle.dumps(d))):
        assert not clone.discovered and clone.kernel_loaders == d.kernel_loaders


# --------------------------------------------------------------------------------------------
# Same outputs as before the dispatcher refactor; no thread-setting changes.
# --------------------------------------------------------------------------------------------
# Recorded with the pre-refactor module (module-level caches, 1-thread scan loops) on
# _inputs() (float64 sums of the float32 output). Bit-identical there; the tolerance only allows
# last-ulp differences of vectorised exp/log on other CPUs.
_PRE_REFACTOR = {
    None: (-114.4393711721641, 2163.0913085807697, 6193.3354019040125,
           [0.26599428057670593, -0.05988285318017006, 0.722876787185669]),
    7: (-114.4393677150947, 2163.091294685437, 6193.335309533204,
        [0.2659943401813507, -0.059882838279008865, 0.7228767275810242]),
}


@pytest.mark.parametrize('chunk', [None, 7])
def test_dispatcher_output_identical_to_direct_call_and_pre_refactor(chunk, logs):
    ins = [t.detach() for t in _inputs()]
    direct = ss.selective_scan_torch(*ins, delta_softplus=True, chunk_size=chunk)
    via_default = ss.selective_scan(*ins, chunk_size=chunk)
    via_instance = ss.SelectiveScanDispatcher()(*ins, chunk_size=chunk)
    assert torch.equal(via_default, direct) and torch.equal(via_instance, direct)
    y = via_default.double()
    total, abs_total, sq_total, tail = _PRE_REFACTOR[chunk]
    assert y.sum().item() == pytest.approx(total, rel=1e-6)
    assert y.abs().sum().item() == pytest.approx(abs_total, rel=1e-6)
    assert y.square().sum().item() == pytest.approx(sq_total, rel=1e-6)
    assert y[1, 5, -3:].tolist() == pytest.approx(tail, rel=1e-6, abs=1e-7)


@pytest.fixture
def thread_calls(monkeypatch):
    """Two intra-op threads (so a library that switched threads would do it here) and a record
    of every set_num_threads / set_num_interop_threads call."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    calls = []
    monkeypatch.setattr(torch, 'set_num_threads', lambda n: calls.append(('intra', n)))
    monkeypatch.setattr(torch, 'set_num_interop_threads', lambda n: calls.append(('inter', n)))
    try:
        yield calls
    finally:
        monkeypatch.undo()
        torch.set_num_threads(previous)


def test_scan_never_changes_thread_settings(thread_calls):
    ins = _inputs(length=300)
    y = ss.selective_scan(*ins, chunk_size=4)
    y.square().sum().backward()
    ss.linear_scan(torch.rand(64, 8), torch.randn(64, 8))
    assert thread_calls == [] and torch.get_num_threads() == 2
