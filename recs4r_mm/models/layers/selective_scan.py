"""Selective scan (the S6 recurrence of Mamba / VMamba) that runs everywhere.

Recurrence, per channel ``d`` and state index ``n`` (SPEC §9)::

    Δ_t  = softplus(δ_t + bias)                       (if ``delta_softplus``)
    h_t  = exp(Δ_t A) ⊙ h_{t-1} + Δ_t B_t u_t           h_0 = 0
    y_t  = Σ_n C_t[n] h_t[n] + D u_t

Three implementations:

* :func:`selective_scan_ref`: a straightforward Python loop over time with autograd. Exact, slow;
  it is the reference for the tests and the benchmark.
* :func:`selective_scan_torch`: a custom :class:`torch.autograd.Function`. The forward runs a
  two-level chunked linear scan (sequential inside chunks, vectorised across chunks, then a short
  sequential carry between chunks, all without ever dividing by a cumulative decay product), and
  the backward runs the reverse recurrence ``g_t = C_t dy_t + exp(Δ_{t+1} A) g_{t+1}`` with the same
  scan, so no autograd graph over time is ever built. Always computed in float32.
* a fused CUDA kernel (VMamba's ``selective_scan_cuda_oflex`` or mamba_ssm's
  ``selective_scan_fn``), used by :func:`selective_scan` for CUDA tensors when one is importable.

Shapes (``KD`` = channels, ``G`` = groups sharing B/C, ``KD % G == 0``)::

    u, delta: (Bt, KD, L)   A: (KD, N)   B, C: (Bt, G, N, L) or (Bt, N, L)   D, bias: (KD,)
    returns y: (Bt, KD, L) in the dtype of ``u``.
"""
import logging
import math
from contextlib import contextmanager
from typing import Callable, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from torch import Tensor

__all__ = [
    'selective_scan', 'selective_scan_torch', 'selective_scan_ref', 'linear_scan',
    'get_fused_selective_scan', 'SelectiveScanFn'
]

BACKENDS = ('auto', 'torch', 'fused', 'ref')


# --------------------------------------------------------------------------------------------
# Chunked linear scan h_t = a_t * h_{t-1} + x_t (time-major).
# --------------------------------------------------------------------------------------------
def _default_chunk(length: int) -> int:
    """Chunk length ~ sqrt(L): Python steps = chunk + L / chunk is then minimal."""
    return max(1, int(math.ceil(math.sqrt(length))))


# Per-step slices of the sequential loops below smaller than this run on one intra-op thread:
# they are latency-bound, and on a loaded machine an OpenMP fork/join per step costs a scheduler
# slice (measured ~5x slower with 2 threads on 2 busy cores). Set to 0 to disable.
SERIAL_LOOP_NUMEL = 1 << 18


@contextmanager
def _serial_threads(numel: int):
    threads = torch.get_num_threads()
    if threads <= 1 or numel >= SERIAL_LOOP_NUMEL:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@torch.no_grad()
def linear_scan(a: Tensor, x: Tensor, chunk_size: Optional[int] = None) -> Tensor:
    """First-order linear recurrence ``h_t = a_t * h_{t-1} + x_t``, ``h_{-1} = 0``.

    Args:
        a, x: (L, M) time-major float tensors (``a`` are the per-step decays, 0 < a ≤ 1 here).
        chunk_size: time steps per chunk (default ``ceil(sqrt(L))``).

    Returns:
        h: (L, M). Two-level scan: a sequential pass inside chunks (vectorised over chunks), the
        chunk-end states carried sequentially across chunks, then one fused correction
        ``h = h_local + cumprod(a) * carry``. Only products of decays appear (underflow to 0 is
        harmless), never a division by them.
    """
    length, width = x.shape
    if length == 0:
        return x.clone()
    chunk = int(chunk_size or _default_chunk(length))
    chunk = max(1, min(chunk, length))
    num_chunks = (length + chunk - 1) // chunk
    pad = num_chunks * chunk - length
    if pad:
        a = F.pad(a, (0, 0, 0, pad), value=1.0)
        x = F.pad(x, (0, 0, 0, pad))
    a = a.reshape(num_chunks, chunk, width)
    h = x.reshape(num_chunks, chunk, width).clone()
    # 1) local scans with zero initial state, all chunks at once
    with _serial_threads(num_chunks * width):
        for t in range(1, chunk):
            h[:, t].addcmul_(a[:, t], h[:, t - 1])
    if num_chunks > 1:
        # 2) true state at the end of every chunk
        decay_in_chunk = torch.cumprod(a, dim=1)  # prod_{s<=t} a_s inside the chunk
        carry = h[:, -1].clone()
        chunk_decay = decay_in_chunk[:, -1]
        with _serial_threads(width):
            for c in range(1, num_chunks):
                carry[c].addcmul_(chunk_decay[c], carry[c - 1])
        # 3) add the contribution of the previous chunk's end state
        h[1:].addcmul_(decay_in_chunk[1:], carry[:-1].unsqueeze(1))
    h = h.reshape(num_chunks * chunk, width)
    return h[:length] if pad else h


# --------------------------------------------------------------------------------------------
# Input normalisation shared by all implementations.
# --------------------------------------------------------------------------------------------
def _check_inputs(u, delta, A, B, C, D, delta_bias):
    if u.dim() != 3 or delta.shape != u.shape:
        raise ValueError(f'selective_scan: u and delta must both be (batch, channels, L); got '
                         f'u {tuple(u.shape)}, delta {tuple(delta.shape)}')
    batch, channels, length = u.shape
    if A.dim() != 2 or A.shape[0] != channels:
        raise ValueError(f'selective_scan: A must be (channels={channels}, N); got '
                         f'{tuple(A.shape)} (complex or shared A is not supported)')
    state = A.shape[1]
    grouped = []
    for name, m in (('B', B), ('C', C)):
        if m.dim() == 3:
            m = m.unsqueeze(1)
        if m.dim() != 4 or m.shape[0] != batch or m.shape[2] != state or m.shape[3] != length:
            raise ValueError(f'selective_scan: {name} must be (batch, [groups,] N={state}, '
                             f'L={length}); got {tuple(m.shape)}')
        if channels % m.shape[1]:
            raise ValueError(f'selective_scan: channels {channels} not divisible by the '
                             f'{m.shape[1]} groups of {name}')
        grouped.append(m)
    if grouped[0].shape[1] != grouped[1].shape[1]:
        raise ValueError('selective_scan: B and C must have the same number of groups')
    for name, v in (('D', D), ('delta_bias', delta_bias)):
        if v is not None and v.shape != (channels, ):
            raise ValueError(f'selective_scan: {name} must be ({channels},); got '
                             f'{tuple(v.shape)}')
    return grouped[0], grouped[1]


def _delta(delta: Tensor, delta_bias: Optional[Tensor], softplus: bool) -> Tensor:
    if delta_bias is not None:
        delta = delta + delta_bias.view(1, -1, 1)
    return F.softplus(delta) if softplus else delta


# --------------------------------------------------------------------------------------------
# Sequential reference.
# --------------------------------------------------------------------------------------------
def selective_scan_ref(u: Tensor,
                       delta: Tensor,
                       A: Tensor,
                       B: Tensor,
                       C: Tensor,
                       D: Optional[Tensor] = None,
                       delta_bias: Optional[Tensor] = None,
                       delta_softplus: bool = False) -> Tensor:
    """Reference: a plain loop over time (autograd through every step). Shapes: module doc."""
    Bg, Cg = _check_inputs(u, delta, A, B, C, D, delta_bias)
    dtype = u.dtype
    batch, channels, length = u.shape
    groups, state = Bg.shape[1], A.shape[1]
    u, delta, A = u.float(), delta.float(), A.float()
    dt = _delta(delta, None if delta_bias is None else delta_bias.float(), delta_softplus)
    Bx = Bg.float().repeat_interleave(channels // groups, dim=1)  # (b, KD, N, L)
    Cx = Cg.float().repeat_interleave(channels // groups, dim=1)
    h = u.new_zeros(batch, channels, state)
    ys = []
    for t in range(length):
        dA = torch.exp(dt[:, :, t, None] * A)
        h = dA * h + (dt[:, :, t] * u[:, :, t])[..., None] * Bx[..., t]
        ys.append((h * Cx[..., t]).sum(-1))
    y = torch.stack(ys, dim=-1)
    if D is not None:
        y = y + D.float().view(1, -1, 1) * u
    return y.to(dtype)


# --------------------------------------------------------------------------------------------
# Fast exact PyTorch path (custom autograd Function).
# --------------------------------------------------------------------------------------------
class SelectiveScanFn(torch.autograd.Function):
    """Chunked-scan forward + reverse-recurrence backward, float32 inside."""

    @staticmethod
    def forward(ctx, u, delta, A, B, C, D, delta_bias, delta_softplus, chunk_size):
        in_dtype = u.dtype
        b_was_3d, c_was_3d = B.dim() == 3, C.dim() == 3
        Bg, Cg = _check_inputs(u, delta, A, B, C, D, delta_bias)
        u32, delta32, A32 = u.float(), delta.float(), A.float()
        B32, C32 = Bg.float(), Cg.float()
        bias32 = None if delta_bias is None else delta_bias.float()
        D32 = None if D is None else D.float()
        batch, channels, length = u32.shape
        groups, state = B32.shape[1], A32.shape[1]
        per_group = channels // groups

        # time-major layouts: (L, b, G, Dg, N) flattened to (L, M)
        dt = _delta(delta32, bias32, delta_softplus)  # (b, KD, L)
        dt_t = dt.permute(2, 0, 1).reshape(length, batch, groups, per_group, 1)
        u_t = u32.permute(2, 0, 1).reshape(length, batch, groups, per_group, 1)
        B_t = B32.permute(3, 0, 1, 2).unsqueeze(3)  # (L, b, G, 1, N)
        C_t = C32.permute(3, 0, 1, 2).unsqueeze(3)
        A_g = A32.view(1, 1, groups, per_group, state)
        decay = torch.exp(dt_t * A_g)  # exp(Δ A) ∈ (0, 1]
        inp = (dt_t * u_t) * B_t  # Δ B u
        h = linear_scan(decay.reshape(length, -1), inp.reshape(length, -1), chunk_size)
        h = h.view(length, batch, groups, per_group, state)
        y = (h * C_t).sum(-1).reshape(length, batch, channels).permute(1, 2, 0)
        if D32 is not None:
            y = y + D32.view(1, -1, 1) * u32

        ctx.delta_softplus = delta_softplus
        ctx.chunk_size = chunk_size
        ctx.squeeze = (b_was_3d, c_was_3d)
        ctx.dtypes = tuple(None if t is None else t.dtype
                           for t in (u, delta, A, B, C, D, delta_bias))
        ctx.save_for_backward(u32, delta32, A32, B32, C32, D32, bias32, h)
        return y.to(in_dtype)

    @staticmethod
    def backward(ctx, dy):
        u, delta, A, Bm, Cm, D, bias, h = ctx.saved_tensors
        batch, channels, length = u.shape
        groups, state = Bm.shape[1], A.shape[1]
        per_group = channels // groups
        dy = dy.float()

        pre = delta if bias is None else delta + bias.view(1, -1, 1)
        dt = F.softplus(pre) if ctx.delta_softplus else pre
        dt_t = dt.permute(2, 0, 1).reshape(length, batch, groups, per_group, 1)
        u_t = u.permute(2, 0, 1).reshape(length, batch, groups, per_group, 1)
        dy_t = dy.permute(2, 0, 1).reshape(length, batch, groups, per_group, 1)
        B_t = Bm.permute(3, 0, 1, 2).unsqueeze(3)
        C_t = Cm.permute(3, 0, 1, 2).unsqueeze(3)
        A_g = A.view(1, 1, groups, per_group, state)
        decay = torch.exp(dt_t * A_g)  # (L, b, G, Dg, N)

        # reverse recurrence g_t = C_t dy_t + decay_{t+1} g_{t+1}
        src = (C_t * dy_t).reshape(length, -1)
        nxt = torch.ones_like(decay)
        nxt[:-1] = decay[1:]
        g = linear_scan(nxt.reshape(length, -1).flip(0), src.flip(0), ctx.chunk_size).flip(0)
        g = g.view_as(decay)
        h_prev = torch.zeros_like(h)
        h_prev[1:] = h[:-1]

        gdh = g * h_prev * decay  # ∂L/∂(Δ A) per element
        gB = g * B_t  # (L, b, G, Dg, N)
        dtu = dt_t * u_t
        d_dt = (gdh * A_g).sum(-1, keepdim=True) + gB.sum(-1, keepdim=True) * u_t
        du = gB.sum(-1, keepdim=True) * dt_t
        dA = (gdh * dt_t).sum((0, 1)).reshape(channels, state)
        dB = (g * dtu).sum(3).permute(1, 2, 3, 0)  # (b, G, N, L)
        dC = (h * dy_t).sum(3).permute(1, 2, 3, 0)

        du = du.reshape(length, batch, channels).permute(1, 2, 0)
        d_dt = d_dt.reshape(length, batch, channels).permute(1, 2, 0)
        if D is not None:
            du = du + D.view(1, -1, 1) * dy
            dD = (dy * u).sum((0, 2))
        else:
            dD = None
        d_delta = d_dt * torch.sigmoid(pre) if ctx.delta_softplus else d_dt
        d_bias = d_delta.sum((0, 2)) if bias is not None else None

        b3, c3 = ctx.squeeze
        dB = dB.squeeze(1) if b3 else dB
        dC = dC.squeeze(1) if c3 else dC
        grads = (du, d_delta, dA, dB, dC, dD, d_bias)
        grads = tuple(None if g_ is None else g_.to(t) for g_, t in zip(grads, ctx.dtypes))
        return grads + (None, None)


def selective_scan_torch(u: Tensor,
                         delta: Tensor,
                         A: Tensor,
                         B: Tensor,
                         C: Tensor,
                         D: Optional[Tensor] = None,
                         delta_bias: Optional[Tensor] = None,
                         delta_softplus: bool = False,
                         chunk_size: Optional[int] = None) -> Tensor:
    """Fast exact pure-PyTorch selective scan (any device). Shapes: module doc."""
    return SelectiveScanFn.apply(u, delta, A, B, C, D, delta_bias, bool(delta_softplus),
                                 chunk_size)


# --------------------------------------------------------------------------------------------
# Fused CUDA kernels (optional) and dispatcher.
# --------------------------------------------------------------------------------------------
_FUSED_CACHE: dict = {}
_LOGGED: set = set()


def _log_once(key: str, msg: str, level=None) -> None:
    if key not in _LOGGED:
        _LOGGED.add(key)
        print_log(msg, logger='current', level=logging.INFO if level is None else level)


def _load_oflex() -> Optional[Callable]:
    """VMamba's ``selective_scan_cuda_oflex``: fwd(u, δ, A, B, C, D, bias, softplus, 1, oflex),
    bwd(u, δ, A, B, C, D, bias, dout, x, softplus, 1)."""
    import selective_scan_cuda_oflex as ext  # noqa: F401

    class _Oflex(torch.autograd.Function):

        @staticmethod
        def forward(ctx, u, delta, A, B, C, D, delta_bias, delta_softplus):
            out, x, *_ = ext.fwd(u, delta, A, B, C, D, delta_bias, delta_softplus, 1, True)
            ctx.delta_softplus = delta_softplus
            ctx.save_for_backward(u, delta, A, B, C, D, delta_bias, x)
            return out

        @staticmethod
        def backward(ctx, dout):
            u, delta, A, B, C, D, delta_bias, x = ctx.saved_tensors
            du, ddelta, dA, dB, dC, dD, dbias, *_ = ext.bwd(u, delta, A, B, C, D, delta_bias,
                                                            dout.contiguous(), x,
                                                            ctx.delta_softplus, 1)
            return du, ddelta, dA, dB, dC, dD, dbias, None

    def run(u, delta, A, B, C, D, delta_bias, delta_softplus):
        return _Oflex.apply(u, delta, A, B, C, D, delta_bias, delta_softplus)

    return run


def _load_mamba() -> Optional[Callable]:
    """mamba_ssm's ``selective_scan_fn(u, δ, A, B, C, D=None, z=None, delta_bias=None,
    delta_softplus=False, return_last_state=False)`` (keyword call: robust to positional changes)."""
    from mamba_ssm.ops.selective_scan_interface import selective_scan_fn

    def run(u, delta, A, B, C, D, delta_bias, delta_softplus):
        return selective_scan_fn(u, delta, A, B, C, D=D, delta_bias=delta_bias,
                                 delta_softplus=delta_softplus)

    return run


_FUSED_LOADERS = (('selective_scan_cuda_oflex', _load_oflex), ('mamba_ssm', _load_mamba))


def get_fused_selective_scan() -> Tuple[Optional[str], Optional[Callable]]:
    """Return ``(name, fn)`` of the first importable fused kernel, else ``(None, None)``.

    Cached; import errors of any kind (missing package, ABI mismatch) mean "not available"."""
    if 'fused' not in _FUSED_CACHE:
        found = (None, None)
        for name, loader in _FUSED_LOADERS:
            try:
                found = (name, loader())
                break
            except Exception:  # noqa: BLE001 - any import failure means unavailable
                continue
        _FUSED_CACHE['fused'] = found
    return _FUSED_CACHE['fused']


def _select_backend(is_cuda: bool, backend: str = 'auto') -> str:
    """Choose 'fused', 'torch' or 'ref' and log the choice once per (backend, device kind)."""
    if backend not in BACKENDS:
        raise ValueError(f'selective_scan: backend must be one of {BACKENDS}, got {backend!r}')
    name, fn = get_fused_selective_scan()
    if backend == 'auto':
        backend = 'fused' if (is_cuda and fn is not None) else 'torch'
    if backend == 'fused' and (fn is None or not is_cuda):
        raise RuntimeError('selective_scan: backend="fused" needs CUDA tensors and an installed '
                           'kernel (selective_scan_cuda_oflex or mamba_ssm); found '
                           f'kernel={name}, cuda={is_cuda}')
    device = 'cuda' if is_cuda else 'cpu'
    if backend == 'fused':
        _log_once(f'fused-{device}', f'selective_scan: using the fused CUDA kernel ({name})')
    elif backend == 'torch':
        why = 'no fused kernel importable' if fn is None else f'{device} tensors'
        _log_once(f'torch-{device}',
                  f'selective_scan: using the pure-PyTorch chunked scan on {device} ({why})')
    else:
        _log_once(f'ref-{device}', 'selective_scan: using the sequential reference (slow)')
    return backend


def selective_scan(u: Tensor,
                   delta: Tensor,
                   A: Tensor,
                   B: Tensor,
                   C: Tensor,
                   D: Optional[Tensor] = None,
                   delta_bias: Optional[Tensor] = None,
                   delta_softplus: bool = True,
                   backend: str = 'auto',
                   chunk_size: Optional[int] = None) -> Tensor:
    """Dispatch the selective scan (shapes: module doc) to a fused kernel or PyTorch.

    ``backend='auto'`` uses the fused kernel for CUDA tensors when one is importable and the
    pure-PyTorch :func:`selective_scan_torch` otherwise; ``'torch'``, ``'fused'``, ``'ref'``
    force a path. If the fused call rejects its arguments (``TypeError``: an unexpected kernel
    version) the PyTorch path is used from then on and this is logged.
    """
    choice = _select_backend(u.is_cuda, backend)
    if choice == 'fused':
        _, fn = get_fused_selective_scan()
        Bg = B if B.dim() == 4 else B.unsqueeze(1)
        Cg = C if C.dim() == 4 else C.unsqueeze(1)
        args = [t.float().contiguous() if t is not None else None
                for t in (u, delta, A, Bg, Cg, D, delta_bias)]
        try:
            return fn(*args, bool(delta_softplus)).to(u.dtype)
        except TypeError as err:
            _FUSED_CACHE['fused'] = (None, None)
            _log_once('fused-failed', f'selective_scan: fused kernel call failed ({err}); '
                      'falling back to the pure-PyTorch scan', level=logging.WARNING)
            choice = 'torch'
    if choice == 'ref':
        return selective_scan_ref(u, delta, A, B, C, D, delta_bias, delta_softplus)
    return selective_scan_torch(u, delta, A, B, C, D, delta_bias, delta_softplus, chunk_size)
