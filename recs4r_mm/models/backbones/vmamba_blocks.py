"""Building blocks of VMamba (channel-first, NCHW everywhere): SS2D and the VSS block.

Parameter names follow the official VMamba release (``in_proj``, ``conv2d``, ``x_proj_weight``,
``dt_projs_weight``, ``dt_projs_bias``, ``A_logs``, ``Ds``, ``out_norm``, ``out_proj``, ``norm``,
``norm2``, ``mlp.fc1``, ``mlp.fc2``) so official checkpoints load with a near-identity mapping
(see docs/vmamba.md).
"""
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
import torch.nn.functional as F
from mmcv.cnn.bricks import DropPath
from torch import Tensor

from ..layers.selective_scan import selective_scan

__all__ = ['Linear2d', 'LayerNorm2d', 'cross_scan', 'cross_merge', 'SS2D', 'VSSMlp', 'VSSBlock']


class Linear2d(nn.Linear):
    """1x1 convolution stored as an ``nn.Linear`` weight (out, in): (B, C_in, H, W) -> (B, C_out, H, W).

    Loading also accepts a 1x1 conv weight (out, in, 1, 1)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight[:, :, None, None], self.bias)

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
        scan_backend / scan_chunk_size: passed to :func:`selective_scan`.
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
                 scan_chunk_size: Optional[int] = None):
        super().__init__()
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
        self.x_proj_weight = nn.Parameter(torch.empty(K, R + 2 * N, d_inner).uniform_(-bound, bound))
        # dt projections: weight ~ U(±R^-0.5 * scale), bias = softplus^-1(dt), dt ~ logU[dt_min, dt_max]
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

    def forward_core(self, x: Tensor) -> Tensor:
        """(B, D, H, W) after conv+act -> merged scan output (B, D, H, W)."""
        B, D, H, W = x.shape
        K, R, N, L = self.num_directions, self.dt_rank, self.d_state, H * W
        xs = cross_scan(x)  # (B, K, D, L)
        x_dbl = torch.einsum('bkdl,kcd->bkcl', xs, self.x_proj_weight)
        dts, Bs, Cs = torch.split(x_dbl, [R, N, N], dim=2)
        dts = torch.einsum('bkrl,kdr->bkdl', dts, self.dt_projs_weight)
        ys = selective_scan(
            xs.reshape(B, K * D, L),
            dts.reshape(B, K * D, L),
            -torch.exp(self.A_logs.float()),  # A = -exp(A_log)
            Bs,
            Cs,
            self.Ds.float(),
            self.dt_projs_bias.reshape(-1).float(),
            delta_softplus=True,  # Δ = softplus(dt + bias)
            backend=self.scan_backend,
            chunk_size=self.scan_chunk_size)
        return cross_merge(ys.reshape(B, K, D, H, W))

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, C, H, W)."""
        x = self.in_proj(x)
        if self.conv2d is not None:
            x = self.conv2d(x)
        x = self.act(x)
        y = self.out_norm(self.forward_core(x).to(x.dtype))
        return self.dropout(self.out_proj(y))


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
