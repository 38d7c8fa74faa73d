"""Selective scan (the S6 recurrence of Mamba, scanned four ways by VMamba) that runs everywhere.

Paper: Gu & Dao, "Mamba: Linear-Time Sequence Modeling with Selective State Spaces", arXiv
2312.00752. This module implements the discrete recurrence of Eq. (2a)-(2b)
(``h_t = Ā h_{t-1} + B̄ x_t``, ``y_t = C h_t``) with the input-dependent ("selective") Δ, B, C
of Algorithm 2 (SSM + Selection, S6; ``Δ = softplus(parameter + s_Δ(x))``) and the zero-order
hold discretisation of Eq. (4) for ``Ā = exp(ΔA)``; ``B̄`` is taken as ``ΔB``, the first-order
form of Eq. (4) that the reference implementations (mamba_ssm, VMamba) use. Per channel ``d``
and state index ``n``::

    Δ_t  = softplus(δ_t + bias)                       (if ``delta_softplus``)
    h_t  = exp(Δ_t A) ⊙ h_{t-1} + Δ_t B_t u_t           h_0 = 0
    y_t  = Σ_n C_t[n] h_t[n] + D u_t

VMamba (Liu et al., "VMamba: Visual State Space Model", arXiv 2401.10166) runs this scan along
four routes in its 2D-Selective-Scan (SS2D); that part is in ``vmamba_blocks.py``. Documentation:
``docs/vmamba.md``, sections "Selective scan" (the implementations, the dispatcher, threads) and
"References".

Three implementations:

* :func:`selective_scan_ref`: a straightforward Python loop over time with autograd. Exact, slow;
  it is the reference for the tests and the benchmark.
* :func:`selective_scan_torch` / :func:`selective_scan_tm` (time-major layout, no transposes):
  the custom :class:`SelectiveScanFn`. The forward runs a two-level chunked linear scan
  (sequential inside chunks, vectorised across chunks, then a short sequential carry between
  chunks, all without ever dividing by a cumulative decay product), and the backward runs the
  reverse recurrence ``g_t = C_t dy_t + exp(Δ_{t+1} A) g_{t+1}`` with the same scan, so no
  autograd graph over time is ever built. Always computed in float32.
* a fused CUDA kernel (VMamba's ``selective_scan_cuda_oflex`` or mamba_ssm's
  ``selective_scan_fn``), used for CUDA tensors when one is importable.

:class:`SelectiveScanDispatcher` chooses between them. It holds the only mutable state of this
module (which fused kernel was found, which choices were logged), discovers kernels lazily on
first use, and has :meth:`~SelectiveScanDispatcher.reset`. :data:`default_dispatcher` is the one
module-level instance, used by the functional :func:`selective_scan`; the VMamba backbone owns
its own instance. Nothing here changes torch's global thread settings (callers choose them).

Shapes (``KD`` = channels, ``G`` = groups sharing B/C, ``KD % G == 0``)::

    u, delta: (Bt, KD, L)   A: (KD, N)   B, C: (Bt, G, N, L) or (Bt, N, L)   D, bias: (KD,)
    returns y: (Bt, KD, L) in the dtype of ``u``.
"""
import logging
import math
from typing import Callable, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from torch import Tensor

__all__ = [
    'selective_scan', 'selective_scan_torch', 'selective_scan_tm', 'selective_scan_ref',
    'linear_scan', 'SelectiveScanFn', 'SelectiveScanDispatcher', 'default_dispatcher',
    'FUSED_KERNEL_LOADERS'
]


# --------------------------------------------------------------------------------------------
# Chunked linear scan h_t = a_t * h_{t-1} + x_t (time-major).
# --------------------------------------------------------------------------------------------
def _default_chunk(length: int) -> int:
    """Chunk length ~ sqrt(L): Python steps = chunk + L / chunk is then minimal."""
    return max(1, int(math.ceil(math.sqrt(length))))


@torch.no_grad()
def linear_scan(a: Tensor,
                x: Tensor,
                chunk_size: Optional[int] = None,
                inplace: bool = False,
                log_a: Optional[Tensor] = None) -> Tensor:
    """First-order linear recurrence ``h_t = a_t * h_{t-1} + x_t``, ``h_{-1} = 0``.

    Args:
        a, x: (L, M) time-major float tensors (``a`` are the per-step decays, 0 ≤ a ≤ 1 here).
        chunk_size: time steps per chunk (default ``ceil(sqrt(L))``).
        inplace: write the result into ``x`` (must then be contiguous).
        log_a: optional ``log(a)`` (L, M) when the caller has it (saves a pass); it is
            overwritten.

    Returns:
        h: (L, M). Two-level scan: a sequential pass inside chunks (vectorised over chunks), the
        chunk-end states carried sequentially across chunks, then one fused correction
        ``h = h_local + (running product of a inside the chunk) * carry``. Only products of
        decays appear (underflow to 0 is harmless), never a division by them.
    """
    length, width = x.shape
    if length == 0:
        return x if inplace else x.clone()
    chunk = int(chunk_size or _default_chunk(length))
    chunk = max(1, min(chunk, length))
    num_chunks = (length + chunk - 1) // chunk
    pad = num_chunks * chunk - length
    a = a.contiguous()
    if pad:
        a = F.pad(a, (0, 0, 0, pad), value=1.0)
        h = F.pad(x, (0, 0, 0, pad))
        if log_a is not None:
            log_a = F.pad(log_a, (0, 0, 0, pad))
    elif inplace:
        if not x.is_contiguous():
            raise ValueError('linear_scan(inplace=True) needs a contiguous x')
        h = x
    else:
        h = x.contiguous().clone()
    a = a.view(num_chunks, chunk, width)
    h = h.view(num_chunks, chunk, width)
    # 1) local scans with zero initial state, all chunks at once
    for t in range(1, chunk):
        h[:, t].addcmul_(a[:, t], h[:, t - 1])
    if num_chunks > 1:
        # 2) running decay products inside each chunk, prod_{s<=t} a_s, summed in log space;
        #    products below e^-80 only scale the carry by < 1e-34 and are clamped there
        #    (keeps float32 out of the slow denormal range; no division anywhere)
        prod = torch.log(a) if log_a is None else log_a.view(num_chunks, chunk, width)
        for t in range(1, chunk):
            prod[:, t].add_(prod[:, t - 1])
        prod.clamp_min_(-80.0).exp_()
        # 3) true state at the end of every chunk, carried across chunks
        carry = h[:, -1].clone()
        chunk_decay = prod[:, -1]
        for c in range(1, num_chunks):
            carry[c].addcmul_(chunk_decay[c], carry[c - 1])
        # 4) add the previous chunk's end state, decayed to every step
        h[1:].addcmul_(prod[1:], carry[:-1].unsqueeze(1))
    h = h.view(num_chunks * chunk, width)
    if pad:
        h = h[:length]
        if inplace:
            x.copy_(h)
            return x
    return h


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
    """Reference: a plain loop over time (autograd through every step). Shapes: module doc.

    Per-step slices come from one ``unbind`` so the backward stays linear in L (indexing
    ``x[..., t]`` in the loop would make every step's backward allocate a full-size gradient).
    """
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
    steps = zip(dt.unbind(-1), u.unbind(-1), Bx.unbind(-1), Cx.unbind(-1))
    for dt_t, u_t, B_t, C_t in steps:
        dA = torch.exp(dt_t[..., None] * A)
        h = dA * h + (dt_t * u_t)[..., None] * B_t
        ys.append((h * C_t).sum(-1))
    y = torch.stack(ys, dim=-1)
    if D is not None:
        y = y + D.float().view(1, -1, 1) * u
    return y.to(dtype)


# --------------------------------------------------------------------------------------------
# Fast exact PyTorch path (custom autograd Function).
# --------------------------------------------------------------------------------------------
def _sum_state(x: Tensor) -> Tensor:
    """Sum over the trailing state dim N (a free view when N == 1)."""
    return x[..., 0] if x.shape[-1] == 1 else x.sum(-1)


class SelectiveScanFn(torch.autograd.Function):
    """Chunked-scan forward + reverse-recurrence backward on TIME-MAJOR inputs, fp32 inside.

    Inputs: u, delta (L, b, KD); A (KD, N); B, C (L, b, G, N); D, delta_bias (KD,) or None.
    Output: y (L, b, KD). Internally (L, b, G, KD/G, N) contiguous, so every sequential step of
    the scan touches one contiguous slab.
    """

    @staticmethod
    def forward(ctx, u, delta, A, B, C, D, delta_bias, delta_softplus, chunk_size):
        in_dtype = u.dtype
        length, batch, channels = u.shape
        groups, state = B.shape[2], A.shape[1]
        per_group = channels // groups
        shape = (length, batch, groups, per_group, 1)
        A32, B_t, C_t = A.float(), B.float().unsqueeze(3), C.float().unsqueeze(3)
        D32 = None if D is None else D.float()

        pre = delta.float().contiguous()
        if delta_bias is not None:
            pre = pre + delta_bias.float()
        dt = F.softplus(pre) if delta_softplus else pre
        u32 = u.float().contiguous()
        A_g = A32.view(1, 1, groups, per_group, state)

        log_decay = dt.view(shape) * A_g  # Δ A, (L, b, G, Dg, N)
        decay = torch.exp(log_decay)  # exp(Δ A) ∈ [0, 1]
        h = torch.mul((dt * u32).view(shape), B_t, out=torch.empty_like(decay))  # Δ B u
        linear_scan(decay.view(length, -1), h.view(length, -1), chunk_size, inplace=True,
                    log_a=log_decay.view(length, -1))
        y = _sum_state(h * C_t).reshape(length, batch, channels)
        if D32 is not None:
            y = y.addcmul(u32, D32)

        ctx.delta_softplus = delta_softplus
        ctx.chunk_size = chunk_size
        ctx.dtypes = tuple(None if t is None else t.dtype
                           for t in (u, delta, A, B, C, D, delta_bias))
        ctx.has_bias = delta_bias is not None
        ctx.save_for_backward(u32, pre, A32, B_t, C_t, D32, h)
        return y.to(in_dtype)

    @staticmethod
    def backward(ctx, dy):
        u32, pre, A, B_t, C_t, D, h = ctx.saved_tensors
        length, batch, channels = u32.shape
        groups, state = B_t.shape[2], A.shape[1]
        per_group = channels // groups
        shape = (length, batch, groups, per_group, 1)
        dy = dy.float().contiguous()

        dt = F.softplus(pre) if ctx.delta_softplus else pre
        dt5, u5, dy5 = dt.view(shape), u32.view(shape), dy.view(shape)
        A_g = A.view(1, 1, groups, per_group, state)
        log_decay = (dt5 * A_g).view(length, -1)
        decay = torch.exp(log_decay)

        # reverse recurrence g_t = C_t dy_t + decay_{t+1} g_{t+1}, run as a forward scan on
        # time-flipped sequences
        src = torch.mul(dy5, C_t, out=decay.new_empty(shape[:-1] + (state, ))).view(length, -1)
        nxt, log_nxt = torch.ones_like(decay), torch.zeros_like(log_decay)
        nxt[:-1], log_nxt[:-1] = decay[1:], log_decay[1:]
        g = linear_scan(nxt.flip(0), src.flip(0), ctx.chunk_size, inplace=True,
                        log_a=log_nxt.flip(0)).flip(0)
        decay = decay.view(shape[:-1] + (state, ))
        g = g.view_as(decay)

        gdh = decay  # reuse: ∂L/∂(Δ A) = g_t h_{t-1} exp(Δ_t A), zero at t = 0
        gdh[0].zero_()
        gdh[1:].mul_(g[1:]).mul_(h[:-1])
        gB = _sum_state(g * B_t)  # (L, b, G, Dg)
        d_dt = (_sum_state(gdh * A_g) + gB * u5[..., 0]).reshape(length, batch, channels)
        du = (gB * dt5[..., 0]).reshape(length, batch, channels)
        dA = (gdh * dt5).sum((0, 1)).reshape(channels, state)
        dB = (g * (dt5 * u5)).sum(3)  # (L, b, G, N)
        dC = (h * dy5).sum(3)
        dD = None
        if D is not None:
            du = du.addcmul(dy, D)
            dD = (dy * u32).sum((0, 1))
        d_delta = d_dt * torch.sigmoid(pre) if ctx.delta_softplus else d_dt
        d_bias = d_delta.sum((0, 1)) if ctx.has_bias else None
        grads = (du, d_delta, dA, dB, dC, dD, d_bias)
        grads = tuple(None if g_ is None else g_.to(t) for g_, t in zip(grads, ctx.dtypes))
        return grads + (None, None)


def _check_time_major(u, delta, A, B, C, D, delta_bias):
    if u.dim() != 3 or delta.shape != u.shape:
        raise ValueError(f'selective_scan_tm: u and delta must both be (L, batch, channels); '
                         f'got u {tuple(u.shape)}, delta {tuple(delta.shape)}')
    length, batch, channels = u.shape
    if A.dim() != 2 or A.shape[0] != channels:
        raise ValueError(f'selective_scan_tm: A must be (channels={channels}, N); got '
                         f'{tuple(A.shape)}')
    for name, m in (('B', B), ('C', C)):
        if m.dim() != 4 or tuple(m.shape[:2]) != (length, batch) or m.shape[3] != A.shape[1] \
                or channels % m.shape[2]:
            raise ValueError(f'selective_scan_tm: {name} must be (L={length}, batch={batch}, '
                             f'groups dividing {channels}, N={A.shape[1]}); got '
                             f'{tuple(m.shape)}')
    if B.shape != C.shape:
        raise ValueError('selective_scan_tm: B and C must have the same shape')
    for name, v in (('D', D), ('delta_bias', delta_bias)):
        if v is not None and v.shape != (channels, ):
            raise ValueError(f'selective_scan_tm: {name} must be ({channels},); got '
                             f'{tuple(v.shape)}')


def selective_scan_tm(u: Tensor,
                      delta: Tensor,
                      A: Tensor,
                      B: Tensor,
                      C: Tensor,
                      D: Optional[Tensor] = None,
                      delta_bias: Optional[Tensor] = None,
                      delta_softplus: bool = False,
                      chunk_size: Optional[int] = None) -> Tensor:
    """Pure-PyTorch selective scan on time-major tensors (no layout copies).

    u, delta: (L, b, KD); A: (KD, N); B, C: (L, b, G, N); D, delta_bias: (KD,). Returns (L, b, KD).
    """
    _check_time_major(u, delta, A, B, C, D, delta_bias)
    return SelectiveScanFn.apply(u, delta, A, B, C, D, delta_bias, bool(delta_softplus),
                                 chunk_size)


def selective_scan_torch(u: Tensor,
                         delta: Tensor,
                         A: Tensor,
                         B: Tensor,
                         C: Tensor,
                         D: Optional[Tensor] = None,
                         delta_bias: Optional[Tensor] = None,
                         delta_softplus: bool = False,
                         chunk_size: Optional[int] = None) -> Tensor:
    """Fast exact pure-PyTorch selective scan (any device), channel-first API (module doc).

    Transposes to time-major, runs :class:`SelectiveScanFn`, transposes back."""
    Bg, Cg = _check_inputs(u, delta, A, B, C, D, delta_bias)
    y = SelectiveScanFn.apply(
        u.permute(2, 0, 1), delta.permute(2, 0, 1), A, Bg.permute(3, 0, 1, 2),
        Cg.permute(3, 0, 1, 2), D, delta_bias, bool(delta_softplus), chunk_size)
    return y.permute(1, 2, 0).contiguous()


# --------------------------------------------------------------------------------------------
# Fused CUDA kernels (optional).
# --------------------------------------------------------------------------------------------
def _load_oflex() -> Callable:
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


def _load_mamba() -> Callable:
    """mamba_ssm's ``selective_scan_fn(u, δ, A, B, C, D=None, z=None, delta_bias=None,
    delta_softplus=False, return_last_state=False)`` (called by keyword: robust to positional
    changes)."""
    from mamba_ssm.ops.selective_scan_interface import selective_scan_fn

    def run(u, delta, A, B, C, D, delta_bias, delta_softplus):
        return selective_scan_fn(u, delta, A, B, C, D=D, delta_bias=delta_bias,
                                 delta_softplus=delta_softplus)

    return run


#: (name, loader) pairs tried in order; a loader imports its kernel and returns
#: ``fn(u, delta, A, B, C, D, delta_bias, delta_softplus) -> y`` or raises.
FUSED_KERNEL_LOADERS: Tuple[Tuple[str, Callable[[], Callable]], ...] = (
    ('selective_scan_cuda_oflex', _load_oflex),
    ('mamba_ssm', _load_mamba),
)


# --------------------------------------------------------------------------------------------
# Dispatcher.
# --------------------------------------------------------------------------------------------
class SelectiveScanDispatcher:
    """Chooses and runs a selective-scan implementation (docs/vmamba.md, "Selective scan").

    Backends: ``'auto'`` (a fused CUDA kernel when one is importable AND the tensors are on
    CUDA, the pure-PyTorch scan otherwise), ``'torch'``, ``'fused'`` (error if impossible),
    ``'ref'`` (the sequential reference loop).

    Lifecycle:

    * construction imports nothing;
    * the first call that could use a fused kernel (backend ``'fused'``, or ``'auto'`` with
      CUDA tensors) tries :data:`FUSED_KERNEL_LOADERS` in order and caches ``(name, fn)`` — or
      "none available" — on the instance; CPU-only ``'auto'`` use never imports a kernel;
    * each distinct choice is logged once per instance through mmengine's
      ``print_log(..., logger='current')``;
    * if a fused call rejects its arguments (``TypeError``: an unexpected kernel version) the
      instance marks the kernel unavailable, logs a warning and uses the PyTorch scan from then on;
    * :meth:`reset` forgets the discovery and the logged messages, so the next call discovers
      again. Use it in tests, or after installing ``mamba_ssm`` (or VMamba's kernels) in a
      running process.

    Pickling/deep-copying (e.g. ``copy.deepcopy(model)``, spawning workers) carries the
    configuration only; the copy starts undiscovered. Not locked: share one instance between
    threads only if a duplicated discovery/log line on first use is acceptable.

    Args:
        kernel_loaders: ``(name, loader)`` pairs to try (default :data:`FUSED_KERNEL_LOADERS`);
            tests pass fakes here.
    """

    BACKENDS = ('auto', 'torch', 'fused', 'ref')

    def __init__(self, kernel_loaders: Optional[Sequence[Tuple[str, Callable]]] = None):
        self.kernel_loaders = tuple(FUSED_KERNEL_LOADERS if kernel_loaders is None
                                    else kernel_loaders)
        self._fused: Optional[Tuple[Optional[str], Optional[Callable]]] = None
        self._logged: set = set()

    # ------------------------------------------------------------------ lifecycle
    def reset(self) -> None:
        """Forget the discovered kernel and the logged choices (next use discovers again)."""
        self._fused = None
        self._logged = set()

    @property
    def discovered(self) -> bool:
        """Whether kernel discovery has run since construction / the last :meth:`reset`."""
        return self._fused is not None

    def fused_kernel(self) -> Tuple[Optional[str], Optional[Callable]]:
        """``(name, fn)`` of the first importable fused kernel, else ``(None, None)``.

        Discovered on the first call and cached on the instance; an import error of any kind
        (missing package, ABI mismatch, no CUDA build) means "not available"."""
        if self._fused is None:
            found: Tuple[Optional[str], Optional[Callable]] = (None, None)
            for name, loader in self.kernel_loaders:
                try:
                    found = (name, loader())
                    break
                except Exception:  # noqa: BLE001 - any import failure means unavailable
                    continue
            self._fused = found
        return self._fused

    def __getstate__(self):
        return {'kernel_loaders': self.kernel_loaders}

    def __setstate__(self, state):
        self.__init__(state['kernel_loaders'])

    def __repr__(self) -> str:
        state = f'fused={self._fused[0]!r}' if self.discovered else 'not discovered'
        return f'{type(self).__name__}({state})'

    # ------------------------------------------------------------------ decision
    @classmethod
    def decide(cls, backend: str, is_cuda: bool, fused_available: bool) -> str:
        """Pure decision: ``'fused'``, ``'torch'`` or ``'ref'`` for a requested ``backend``.

        ``'auto'`` gives ``'fused'`` only when ``is_cuda`` AND ``fused_available``. Raises
        ``ValueError`` for an unknown backend and ``RuntimeError`` for an impossible
        ``'fused'``."""
        if backend not in cls.BACKENDS:
            raise ValueError(f'selective_scan: backend must be one of {cls.BACKENDS}, got '
                             f'{backend!r}')
        if backend == 'auto':
            return 'fused' if (is_cuda and fused_available) else 'torch'
        if backend == 'fused' and not (is_cuda and fused_available):
            raise RuntimeError('selective_scan: backend="fused" needs CUDA tensors and an '
                               'importable kernel (selective_scan_cuda_oflex or mamba_ssm); '
                               f'got CUDA tensors={is_cuda}, kernel importable='
                               f'{fused_available}')
        return backend

    def choose(self, is_cuda: bool, backend: str = 'auto') -> str:
        """:meth:`decide` with the discovered availability, logging each distinct choice once.

        Discovers kernels only when one could matter: ``backend='fused'``, or ``'auto'`` with
        CUDA tensors (so CPU-only ``'auto'`` use never imports a CUDA extension)."""
        if backend not in self.BACKENDS:
            return self.decide(backend, is_cuda, False)  # raises
        needs_kernel = backend == 'fused' or (backend == 'auto' and is_cuda)
        name, fn = self.fused_kernel() if needs_kernel else (None, None)
        choice = self.decide(backend, is_cuda, fn is not None)
        device = 'cuda' if is_cuda else 'cpu'
        if choice == 'fused':
            self._log_once(f'fused-{device}',
                           f'selective_scan: using the fused CUDA kernel ({name})')
        elif choice == 'torch':
            why = ('no fused kernel importable' if is_cuda and backend == 'auto' else
                   f'{device} tensors' if backend == 'auto' else 'backend="torch"')
            self._log_once(f'torch-{device}', 'selective_scan: using the pure-PyTorch chunked '
                           f'scan on {device} ({why})')
        else:
            self._log_once(f'ref-{device}',
                           'selective_scan: using the sequential reference (slow)')
        return choice

    def _log_once(self, key: str, msg: str, level: int = logging.INFO) -> None:
        if key not in self._logged:
            self._logged.add(key)
            print_log(msg, logger='current', level=level)

    # ------------------------------------------------------------------ running
    def __call__(self,
                 u: Tensor,
                 delta: Tensor,
                 A: Tensor,
                 B: Tensor,
                 C: Tensor,
                 D: Optional[Tensor] = None,
                 delta_bias: Optional[Tensor] = None,
                 delta_softplus: bool = True,
                 backend: str = 'auto',
                 chunk_size: Optional[int] = None) -> Tensor:
        """Run the scan (shapes: module doc) on the chosen backend; see :func:`selective_scan`."""
        choice = self.choose(u.is_cuda, backend)
        if choice == 'fused':
            name, fn = self.fused_kernel()
            Bg = B if B.dim() == 4 else B.unsqueeze(1)
            Cg = C if C.dim() == 4 else C.unsqueeze(1)
            args = [t.float().contiguous() if t is not None else None
                    for t in (u, delta, A, Bg, Cg, D, delta_bias)]
            try:
                return fn(*args, bool(delta_softplus)).to(u.dtype)
            except TypeError as err:
                self._fused = (None, None)
                self._log_once('fused-failed', f'selective_scan: fused kernel {name} call '
                               f'failed ({err}); falling back to the pure-PyTorch scan',
                               level=logging.WARNING)
                choice = 'torch'
        if choice == 'ref':
            return selective_scan_ref(u, delta, A, B, C, D, delta_bias, delta_softplus)
        return selective_scan_torch(u, delta, A, B, C, D, delta_bias, delta_softplus,
                                    chunk_size)


#: The one module-level dispatcher, used by :func:`selective_scan`. Its only state is the
#: discovered kernel and the logged choices; ``default_dispatcher.reset()`` clears both.
default_dispatcher = SelectiveScanDispatcher()


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
    """Selective scan (shapes: module doc) through :data:`default_dispatcher`.

    ``backend='auto'`` uses the fused kernel for CUDA tensors when one is importable and the
    pure-PyTorch :func:`selective_scan_torch` otherwise; ``'torch'``, ``'fused'``, ``'ref'``
    force a path. If the fused call rejects its arguments (``TypeError``: an unexpected kernel
    version) the PyTorch path is used from then on and this is logged.
    """
    return default_dispatcher(u, delta, A, B, C, D, delta_bias, delta_softplus, backend,
                              chunk_size)
