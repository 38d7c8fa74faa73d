"""Pointer regression of a vertex: soft-argmax over the visual tokens plus a bounded offset.

Not in the paper (an alternative to LUCDP's direct regression); docs/design.md §8
"vertex read-out".
"""
import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


def grid_centres(h: int, w: int, device=None, dtype=None) -> Tensor:
    """Normalised (x, y) centres of an ``h x w`` grid's cells, row-major: (h * w, 2)."""
    ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) / h
    xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) / w
    yy, xx = torch.meshgrid(ys, xs, indexing='ij')
    xy = torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=-1)
    return xy if dtype is None else xy.to(dtype)


class PointerRegression(nn.Module):
    """Vertex = sum_s softmax_s(q . k_s) c_s + tanh(offset) * cell, in [0, 1].

    A single-head attention from the decoder state onto the h x w visual tokens (keys carry
    their 2-D position code) points at a cell; the expected cell centre c_s plus an offset of
    at most one cell is the vertex. The L1 loss on the vertex then trains the attention map
    directly (integral regression), so localisation does not have to be read out of the
    attended features by an MLP, which is what makes plain DETR-style regression slow to learn.

    Args:
        embed_dims (int): C.
    """

    def __init__(self, embed_dims: int) -> None:
        super().__init__()
        self.q_proj = nn.Linear(embed_dims, embed_dims)
        self.k_proj = nn.Linear(embed_dims, embed_dims)
        self.offset = nn.Sequential(
            nn.Linear(embed_dims, embed_dims), nn.ReLU(inplace=True), nn.Linear(embed_dims, 2))
        nn.init.normal_(self.offset[-1].weight, std=1e-3)  # starts at the cell centre
        nn.init.zeros_(self.offset[-1].bias)
        self.scale = 1.0 / math.sqrt(embed_dims)

    def keys(self, visual: Tensor, pos: Tensor) -> Tensor:
        """Visual tokens (B, S, C) + their position code (S, C) -> keys (B, S, C)."""
        return self.k_proj(visual + pos)

    def forward(self, h: Tensor, keys: Tensor, hw: Tuple[int, int],
                prior: Optional[Tensor] = None) -> Tensor:
        """Decoder states (B, T, C), keys (B, h*w, C) -> vertices (B, T, 2) in [0, 1].

        ``prior`` (B, h*w), optional, is added to every step's attention logits (e.g. the
        grounding head's "referred object" logits, so the pointer stays on that object).
        """
        gh, gw = hw
        logits = torch.matmul(self.q_proj(h), keys.transpose(1, 2)) * self.scale
        if prior is not None:
            logits = logits + prior[:, None, :]
        attn = F.softmax(logits, -1)
        centres = grid_centres(gh, gw, device=h.device, dtype=h.dtype)
        cell = h.new_tensor([1.0 / gw, 1.0 / gh])
        xy = torch.matmul(attn, centres) + torch.tanh(self.offset(h)) * cell
        return xy.clamp(0, 1)
