"""Pre-norm transformer encoder / decoder layers (decoder supports a KV cache).

No paper part (the layers of the fusion encoder and the LUCDP decoder); docs/design.md §2
steps 4-5.
"""
from typing import Optional

import torch.nn as nn
from torch import Tensor

from .attention import KVCache, MultiheadAttention


class FFN(nn.Module):
    """Linear -> GELU -> dropout -> Linear -> dropout.  (B, T, C) -> (B, T, C)."""

    def __init__(self, embed_dims: int, ffn_dims: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(embed_dims, ffn_dims), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(ffn_dims, embed_dims), nn.Dropout(dropout))

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


def _with_pos(x: Tensor, pos: Optional[Tensor]) -> Tensor:
    return x if pos is None else x + pos


class TransformerEncoderLayer(nn.Module):
    """Pre-norm self-attention + FFN; ``pos`` is added to queries and keys (DETR style)."""

    def __init__(self, embed_dims: int, num_heads: int, ffn_dims: int,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(embed_dims, num_heads, dropout=dropout)
        self.ffn = FFN(embed_dims, ffn_dims, dropout)
        self.norm1 = nn.LayerNorm(embed_dims)
        self.norm2 = nn.LayerNorm(embed_dims)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, pos: Optional[Tensor] = None,
                key_padding_mask: Optional[Tensor] = None) -> Tensor:
        """x, pos: (B, N, C); key_padding_mask: (B, N) True = padding."""
        h = self.norm1(x)
        qk = _with_pos(h, pos)
        x = x + self.drop(self.self_attn(qk, qk, h, key_padding_mask=key_padding_mask))
        return x + self.ffn(self.norm2(x))


class TransformerDecoderLayer(nn.Module):
    """Pre-norm causal self-attention + cross-attention to memory + FFN."""

    def __init__(self, embed_dims: int, num_heads: int, ffn_dims: int,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(embed_dims, num_heads, dropout=dropout)
        self.cross_attn = MultiheadAttention(embed_dims, num_heads, dropout=dropout)
        self.ffn = FFN(embed_dims, ffn_dims, dropout)
        self.norm1 = nn.LayerNorm(embed_dims)
        self.norm2 = nn.LayerNorm(embed_dims)
        self.norm3 = nn.LayerNorm(embed_dims)
        self.drop = nn.Dropout(dropout)

    def forward(self,
                x: Tensor,
                memory: Tensor,
                causal_mask: Optional[Tensor] = None,
                memory_padding_mask: Optional[Tensor] = None,
                cache: Optional[KVCache] = None,
                memory_pos: Optional[Tensor] = None) -> Tensor:
        """One decoder layer.

        Args:
            x (Tensor): (B, T, C) inputs; with ``cache`` T must be 1 (the new step).
            memory (Tensor): (B, S, C) encoder output.
            causal_mask (Tensor, optional): (T, T) bool, True = blocked (no cache).
            memory_padding_mask (Tensor, optional): (B, S) True = padding.
            cache (KVCache, optional): this layer's cache for incremental decoding.
            memory_pos (Tensor, optional): (B or 1, S, C) position code added to the
                cross-attention keys (DETR style), not to the values.
        """
        h = self.norm1(x)
        q = self.self_attn.project_q(h)
        k, v = self.self_attn.project_kv(h, h)
        if cache is not None:
            k, v = cache.append(k, v)  # the prefix's keys/values are reused, not recomputed
            causal_mask = None  # the single new query may see the whole prefix
        x = x + self.drop(self.self_attn.attend(q, k, v, attn_mask=causal_mask))

        h = self.norm2(x)
        if cache is not None:
            if cache.mem_k is None:
                cache.mem_k, cache.mem_v = self.cross_attn.project_kv(
                    _with_pos(memory, memory_pos), memory)
            mk, mv = cache.mem_k, cache.mem_v
        else:
            mk, mv = self.cross_attn.project_kv(_with_pos(memory, memory_pos), memory)
        x = x + self.drop(
            self.cross_attn.attend(self.cross_attn.project_q(h), mk, mv,
                                   key_padding_mask=memory_padding_mask))
        return x + self.ffn(self.norm3(x))
