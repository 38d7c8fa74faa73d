"""Multi-head attention with an optional key/value cache.

Heads attend through PyTorch's fused ``scaled_dot_product_attention`` (``fused=True``: a
training step of the main job's model takes 17 % less time on CPU, docs/design.md §9); while
``torch.jit`` traces the module (``mmengine.analysis``, ``get_flops.py``) and with
``fused=False`` they use plain ``matmul``/``softmax`` ops, which the FLOP counter sees.

No paper part (the decoder of LUCDP, Key Design 1, runs on it); the cache: docs/design.md §2 step 5,
§9.
"""
import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


class MultiheadAttention(nn.Module):
    """Batch-first multi-head attention.

    Args:
        embed_dims (int): Query / output channels C.
        num_heads (int): Number of heads H (C must be divisible by H).
        kdim (int, optional): Key channels (defaults to C).
        vdim (int, optional): Value channels (defaults to C).
        dropout (float): Dropout on the attention weights.
        fused (bool): Attend with ``F.scaled_dot_product_attention`` (plain ops when False
            and while tracing). Both give the same values up to float rounding.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 kdim: Optional[int] = None,
                 vdim: Optional[int] = None,
                 dropout: float = 0.0,
                 fused: bool = True) -> None:
        super().__init__()
        if embed_dims % num_heads != 0:
            raise ValueError(f'embed_dims={embed_dims} is not divisible by '
                             f'num_heads={num_heads}')
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.head_dims = embed_dims // num_heads
        self.q_proj = nn.Linear(embed_dims, embed_dims)
        self.k_proj = nn.Linear(kdim or embed_dims, embed_dims)
        self.v_proj = nn.Linear(vdim or embed_dims, embed_dims)
        self.out_proj = nn.Linear(embed_dims, embed_dims)
        self.attn_drop = nn.Dropout(dropout)
        self.fused = fused

    def _split(self, x: Tensor) -> Tensor:
        """(B, T, C) -> (B, H, T, C/H)."""
        b, t, _ = x.shape
        return x.view(b, t, self.num_heads, self.head_dims).transpose(1, 2)

    def project_kv(self, key: Tensor, value: Tensor) -> Tuple[Tensor, Tensor]:
        """Project keys/values once: (B, S, Ck), (B, S, Cv) -> 2 x (B, H, S, C/H)."""
        return self._split(self.k_proj(key)), self._split(self.v_proj(value))

    def project_q(self, query: Tensor) -> Tensor:
        """(B, T, C) -> (B, H, T, C/H)."""
        return self._split(self.q_proj(query))

    def attend(self,
               q: Tensor,
               k: Tensor,
               v: Tensor,
               attn_mask: Optional[Tensor] = None,
               key_padding_mask: Optional[Tensor] = None) -> Tensor:
        """Scaled dot-product attention on projected heads.

        Args:
            q (Tensor): (B, H, T, D).
            k, v (Tensor): (B, H, S, D).
            attn_mask (Tensor, optional): (T, S) bool, True = blocked.
            key_padding_mask (Tensor, optional): (B, S) bool, True = padding.

        Returns:
            Tensor: (B, T, C) after the output projection.
        """
        if self.fused and not torch.jit.is_tracing():
            keep = None  # True = may attend (the opposite of the masks' convention)
            if attn_mask is not None:
                keep = ~attn_mask[None, None]
            if key_padding_mask is not None:
                kp = ~key_padding_mask[:, None, None, :]
                keep = kp if keep is None else keep & kp
            out = F.scaled_dot_product_attention(
                q, k, v, attn_mask=keep,
                dropout_p=self.attn_drop.p if self.training else 0.0)  # (B, H, T, D)
        else:
            scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_dims)
            if attn_mask is not None:
                scores = scores.masked_fill(attn_mask[None, None], float('-inf'))
            if key_padding_mask is not None:
                scores = scores.masked_fill(key_padding_mask[:, None, None, :],
                                            float('-inf'))
            weights = self.attn_drop(F.softmax(scores, dim=-1))
            out = torch.matmul(weights, v)  # (B, H, T, D)
        b, h, t, d = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(b, t, h * d))

    def forward(self,
                query: Tensor,
                key: Tensor,
                value: Optional[Tensor] = None,
                attn_mask: Optional[Tensor] = None,
                key_padding_mask: Optional[Tensor] = None) -> Tensor:
        """(B, T, C) queries over (B, S, Ck) keys -> (B, T, C)."""
        value = key if value is None else value
        k, v = self.project_kv(key, value)
        return self.attend(self.project_q(query), k, v, attn_mask, key_padding_mask)


class KVCache:
    """Pre-allocated self-attention key/value buffers of one decoder layer.

    Writing step ``t`` fills slot ``t`` in place (no re-allocation, no recomputation of the
    prefix), so the projections of a decoding step cost the same at every step.

    Args:
        batch_size (int): B.
        num_heads (int): H.
        max_len (int): Maximum number of decoding steps T_max.
        head_dims (int): D.
    """

    def __init__(self, batch_size: int, num_heads: int, max_len: int, head_dims: int,
                 device=None, dtype=None) -> None:
        shape = (batch_size, num_heads, max_len, head_dims)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)
        self.length = 0
        # cross-attention keys/values of the (fixed) memory, filled on first use
        self.mem_k: Optional[Tensor] = None
        self.mem_v: Optional[Tensor] = None

    def append(self, k: Tensor, v: Tensor) -> Tuple[Tensor, Tensor]:
        """Store (B, H, 1, D) at the next slot; return views of the filled prefix."""
        t = self.length
        if t >= self.k.shape[2]:
            raise RuntimeError(f'KVCache overflow: max_len={self.k.shape[2]}')
        self.k[:, :, t:t + 1] = k
        self.v[:, :, t:t + 1] = v
        self.length = t + 1
        return self.k[:, :, :t + 1], self.v[:, :, :t + 1]
