"""Building blocks of VMamba (channel-first, NCHW everywhere): SS2D and the VSS block.

Paper: Liu et al., "VMamba: Visual State Space Model", arXiv 2401.10166 — :class:`SS2D` is the
2D-Selective-Scan of its section "2D-Selective-Scan for Vision Data (SS2D)" (cross-scan along
four routes, an S6 selective scan per route, cross-merge), in the "v05_noz" form (no
multiplicative z branch) of its section "Accelerating VMamba"; :class:`VSSBlock` is the VSS block
of its section "Network Architecture". The per-route scan is Mamba's S6 (Gu & Dao, arXiv
2312.00752, Algorithm 2, recurrence Eq. 2a-2b, discretisation Eq. 4), implemented in
``recs4r_mm/models/layers/selective_scan.py``. Documentation: ``docs/vmamba.md``, sections
"Architecture", "Selective scan" and "References".

Parameter names follow the official VMamba release (``in_proj``, ``conv2d``, ``x_proj_weight``,
``dt_projs_weight``, ``dt_projs_bias``, ``A_logs``, ``Ds``, ``out_norm``, ``out_proj``, ``norm``,
``norm2``, ``mlp.fc1``, ``mlp.fc2``) so official checkpoints load with a near-identity mapping
(``docs/vmamba.md``, section "Checkpoint key mapping").
"""
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn.bricks import DropPath
from torch import Tensor

from ..layers.selective_scan import SelectiveScanDispatcher, selective_scan_tm

__all__ = ['Linear2d', 'LayerNorm2d', 'cross_scan', 'cross_merge', 'SS2D', 'VSSMlp', 'VSSBlock']


class Linear2d(nn.Linear):
    """1x1 conv kept as an ``nn.Linear`` weight (out, in): (B, C_in, H, W) -> (B, C_out, H, W).

    Loading also accepts a 1x1 conv weight (out, in, 1, 1)."""

    def forward(self, x: Tensor) -> Tensor:
        B, C, H, W = x.shape
        nhwc = x.permute(0, 2, 3, 1)
        if nhwc.is_contiguous():  # channels-last memory (e.g. after LayerNorm2d): one GEMM
            return F.linear(nhwc, self.weight, self.bias).permute(0, 3, 1, 2)
        # NCHW memory: W @ x per image (a GEMM; CPU conv2d picks a slow path for 1x1 here)
        y = torch.matmul(self.weight, x.reshape(B, C, H * W))
        if self.bias is not None:
            y = y + self.bias.view(1, -1, 1)
        return y.view(B, -1, H, W)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        key = prefix + 'weight'
        if key in state_dict and state_dict[key].dim() == 4 \
                and state_dict[key].numel() == self.weight.numel():
            state_dict[key] = state_dict[key].reshape(self.weight.shape)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channel dim of an NCHW tensor."""

    def forward(self, x: Tensor) -> Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


def cross_scan(x: Tensor) -> Tensor:
    """(B, D, H, W) -> (B, 4, D, H*W): row-major, column-major, and both reversed."""
    hw = torch.stack([x.flatten(2), x.transpose(2, 3).flatten(2)], dim=1)
    return torch.cat([hw, hw.flip(-1)], dim=1)


def cross_merge(ys: Tensor) -> Tensor:
    """(B, 4, D, H, W) per-direction outputs -> (B, D, H, W): undo flips/transposes and sum."""
    B, K, D, H, W = ys.shape
    ys = ys.reshape(B, K, D, H * W)
    ys = ys[:, 0:2] + ys[:, 2:4].flip(-1)
    col = ys[:, 1].reshape(B, D, W, H).transpose(2, 3)
    return ys[:, 0].reshape(B, D, H, W) + col


class SS2D(nn.Module):
    """2D selective scan ("v05_noz" variant: no z-gate), channel-first.

    in_proj (1x1) -> depthwise conv + SiLU -> cross scan (4 directions) -> per-direction
    x_proj to (dt, B, C) and dt_projs -> selective scan with A = -exp(A_log),
    Δ = softplus(dt + bias) -> cross merge -> out_norm (LN) -> out_proj (1x1).

    Args:
        d_model: channels C of the (B, C, H, W) input/output.
        d_state: SSM state size N. ssm_ratio: d_inner = ssm_ratio * d_model.
        dt_rank: 'auto' = ceil(d_model / 16). d_conv: depthwise kernel (<2: no conv).
        scan_backend: 'auto' | 'torch' | 'fused' | 'ref' (see
            :class:`~recs4r_mm.models.layers.selective_scan.SelectiveScanDispatcher`).
        scan_chunk_size: chunk length of the PyTorch scan (None: ceil(sqrt(L))).
        scan_dispatcher: the dispatcher to use (:class:`VMamba` passes its own, shared by all
            blocks); None creates one for this module.
    """

    num_directions = 4

    def __init__(self,
                 d_model: int,
                 d_state: int = 1,
                 ssm_ratio: float = 1.0,
                 dt_rank='auto',
                 d_conv: int = 3,
                 conv_bias: bool = False,
                 bias: bool = False,
                 dropout: float = 0.0,
                 dt_min: float = 1e-3,
                 dt_max: float = 1e-1,
                 dt_scale: float = 1.0,
                 dt_init_floor: float = 1e-4,
                 scan_backend: str = 'auto',
                 scan_chunk_size: Optional[int] = None,
                 scan_dispatcher: Optional[SelectiveScanDispatcher] = None):
        super().__init__()
        if scan_backend not in SelectiveScanDispatcher.BACKENDS:
            raise ValueError(f'SS2D: scan_backend must be one of '
                             f'{SelectiveScanDispatcher.BACKENDS}, got {scan_backend!r}')
        self.scan_dispatcher = SelectiveScanDispatcher() if scan_dispatcher is None \
            else scan_dispatcher
        d_inner = int(ssm_ratio * d_model)
        self.d_inner, self.d_state = d_inner, d_state
        self.dt_rank = math.ceil(d_model / 16) if dt_rank == 'auto' else int(dt_rank)
        self.scan_backend, self.scan_chunk_size = scan_backend, scan_chunk_size
        K, R, N = self.num_directions, self.dt_rank, d_state

        self.in_proj = Linear2d(d_model, d_inner, bias=bias)
        self.act = nn.SiLU()
        self.conv2d = nn.Conv2d(d_inner, d_inner, d_conv, padding=(d_conv - 1) // 2,
                                groups=d_inner, bias=conv_bias) if d_conv > 1 else None
        # per-direction projections (K, R + 2N, d_inner), initialised like nn.Linear
        bound = 1.0 / math.sqrt(d_inner)
        self.x_proj_weight = nn.Parameter(
            torch.empty(K, R + 2 * N, d_inner).uniform_(-bound, bound))
        # dt projections: weight ~ U(±R^-0.5 * scale), bias = softplus^-1(dt),
        # dt ~ log-uniform[dt_min, dt_max]
        std = R**-0.5 * dt_scale
        self.dt_projs_weight = nn.Parameter(torch.empty(K, d_inner, R).uniform_(-std, std))
        dt = torch.exp(
            torch.rand(K, d_inner) * (math.log(dt_max) - math.log(dt_min)) +
            math.log(dt_min)).clamp(min=dt_init_floor)
        self.dt_projs_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))
        # S4D-real init: A = -(1..N), D = 1 (both kept in fp32)
        self.A_logs = nn.Parameter(
            torch.log(torch.arange(1, N + 1, dtype=torch.float32)).repeat(K * d_inner, 1))
        self.Ds = nn.Parameter(torch.ones(K * d_inner))
        self.out_norm = LayerNorm2d(d_inner)
        self.out_proj = Linear2d(d_inner, d_model, bias=bias)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def _ssm_params(self):
        """A = -exp(A_log) (fp32), D, Δ bias (flattened over directions)."""
        return (-torch.exp(self.A_logs.float()), self.Ds.float(),
                self.dt_projs_bias.reshape(-1).float())

    def forward_core(self, x: Tensor, backend: Optional[str] = None) -> Tensor:
        """Channel-first core (any scan backend): (B, D, H, W) after conv+act -> (B, D, H, W)."""
        B, D, H, W = x.shape
        K, R, N, L = self.num_directions, self.dt_rank, self.d_state, H * W
        xs = cross_scan(x)  # (B, K, D, L)
        x_dbl = torch.einsum('bkdl,kcd->bkcl', xs, self.x_proj_weight)
        dts, Bs, Cs = torch.split(x_dbl, [R, N, N], dim=2)
        dts = torch.einsum('bkrl,kdr->bkdl', dts, self.dt_projs_weight)
        A, Ds, bias = self._ssm_params()
        ys = self.scan_dispatcher(
            xs.reshape(B, K * D, L), dts.reshape(B, K * D, L), A, Bs, Cs, Ds, bias,
            delta_softplus=True,  # Δ = softplus(dt + bias)
            backend=backend or self.scan_backend, chunk_size=self.scan_chunk_size)
        return cross_merge(ys.reshape(B, K, D, H, W))

    def forward_core_time_major(self, x: Tensor) -> Tensor:
        """Same maths on the pure-PyTorch scan without layout round trips.

        (B, D, H, W) -> channels-last (H, W, B, D). The four directions are written straight
        into one time-major (L, B, K, D) buffer, the Δ projection is a block-diagonal matmul
        whose output is already time-major, and the merge produces (H, W, B, D) for the LN.
        """
        B, D, H, W = x.shape
        K, R, N, L = self.num_directions, self.dt_rank, self.d_state, H * W
        rows = x.permute(2, 3, 0, 1)  # (H, W, B, D)
        cols = x.permute(3, 2, 0, 1)  # (W, H, B, D)
        xs = x.new_empty(L, B, K, D)
        xs[:, :, 0].view(H, W, B, D).copy_(rows)
        xs[:, :, 1].view(W, H, B, D).copy_(cols)
        xs[:, :, 2].view(H, W, B, D).copy_(rows.flip(0, 1))
        xs[:, :, 3].view(W, H, B, D).copy_(cols.flip(0, 1))
        x_dbl = torch.einsum('lbkd,kcd->lbkc', xs, self.x_proj_weight)  # (L, B, K, R + 2N)
        dts, Bs, Cs = torch.split(x_dbl, [R, N, N], dim=3)
        A, Ds, bias = self._ssm_params()
        # dt + bias for all directions in one matmul (bias added in the GEMM)
        dts = F.linear(dts.reshape(L * B, K * R), torch.block_diag(*self.dt_projs_weight), bias)
        ys = selective_scan_tm(
            xs.view(L, B, K * D), dts.view(L, B, K * D), A, Bs, Cs, None, None,
            delta_softplus=True, chunk_size=self.scan_chunk_size).view(L, B, K, D)
        y_rows = ys[:, :, 0] + ys[:, :, 2].flip(0)  # row-major time
        y_cols = ys[:, :, 1] + ys[:, :, 3].flip(0)  # column-major time
        y = y_rows.view(H, W, B, D) + y_cols.view(W, H, B, D).transpose(0, 1)
        # skip term: every direction sees the same pixel, so sum_k D_k u = (sum_k D_k) x
        return y.addcmul_(rows, Ds.view(K, D).sum(0))

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, C, H, W)."""
        x = self.in_proj(x)
        if self.conv2d is not None:
            x = self.conv2d(x)
        x = self.act(x)
        backend = self.scan_dispatcher.choose(x.is_cuda, self.scan_backend)
        if backend == 'torch':
            y = self.forward_core_time_major(x).to(x.dtype)  # (H, W, B, D)
            y = F.layer_norm(y, self.out_norm.normalized_shape, self.out_norm.weight,
                             self.out_norm.bias, self.out_norm.eps)
            y = F.linear(y, self.out_proj.weight, self.out_proj.bias).permute(2, 3, 0, 1)
        else:
            y = self.out_proj(self.out_norm(self.forward_core(x, backend).to(x.dtype)))
        return self.dropout(y)


class VSSMlp(nn.Module):
    """Channel-first MLP: fc1 (1x1) -> GELU -> fc2 (1x1)."""

    def __init__(self, dim: int, hidden: int, drop: float = 0.0):
        super().__init__()
        self.fc1 = Linear2d(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = Linear2d(hidden, dim)
        self.drop = nn.Dropout(drop) if drop > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class VSSBlock(nn.Module):
    """x = x + DropPath(SS2D(LN(x))); x = x + DropPath(MLP(LN(x))), on (B, C, H, W)."""

    def __init__(self,
                 dim: int,
                 drop_path: float = 0.0,
                 mlp_ratio: float = 4.0,
                 with_cp: bool = False,
                 **ss2d_kwargs):
        super().__init__()
        self.with_cp = with_cp
        self.norm = LayerNorm2d(dim)
        self.op = SS2D(dim, **ss2d_kwargs)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.mlp_branch = mlp_ratio > 0
        if self.mlp_branch:
            self.norm2 = LayerNorm2d(dim)
            self.mlp = VSSMlp(dim, int(dim * mlp_ratio))

    def _forward(self, x: Tensor) -> Tensor:
        x = x + self.drop_path(self.op(self.norm(x)))
        if self.mlp_branch:
            x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x

    def forward(self, x: Tensor) -> Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._forward, x, use_reentrant=False)
        return self._forward(x)
