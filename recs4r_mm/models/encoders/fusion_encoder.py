"""Multimodal transformer encoder over [visual tokens; text tokens] (PolyFormer-style).

RECS4R (CVPR 2026), Overall Architecture: the multimodal Transformer (PolyFormer, Liu et al., CVPR
2023); sine code as in DETR (Carion et al., ECCV 2020); docs/design.md §2 step 4.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from recs4r_mm.registry import MODELS
from ..layers.positional_encoding import sine_positional_encoding_2d
from ..layers.transformer_layers import TransformerEncoderLayer


@MODELS.register_module()
class MultimodalFusionEncoder(BaseModule):
    """Joint self-attention over visual and text tokens.

    Visual tokens get a 2-D sine position code (normalised grid, so crops and full images
    share it), text tokens a learned 1-D position code; both get a modality embedding.

    Args:
        embed_dims (int): Width C.
        num_layers (int): Number of encoder layers.
        num_heads (int): Attention heads.
        ffn_dims (int): FFN hidden width.
        dropout (float): Dropout.
        max_text_len (int): Size of the text position table.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 num_layers: int = 3,
                 num_heads: int = 8,
                 ffn_dims: int = 1024,
                 dropout: float = 0.1,
                 max_text_len: int = 64,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.embed_dims = embed_dims
        self.layers = nn.ModuleList([
            TransformerEncoderLayer(embed_dims, num_heads, ffn_dims, dropout)
            for _ in range(num_layers)
        ])
        self.norm = nn.LayerNorm(embed_dims)
        self.modality_embed = nn.Embedding(2, embed_dims)
        self.text_pos = nn.Embedding(max_text_len, embed_dims)
        nn.init.normal_(self.modality_embed.weight, std=0.02)
        nn.init.normal_(self.text_pos.weight, std=0.02)

    def forward(self, visual: Tensor, text: Optional[Tensor] = None,
                text_mask: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, Tensor]:
        """Fuse a visual map with text tokens.

        Args:
            visual (Tensor): (B, C, h, w) visual map.
            text (Tensor, optional): (B, T, C) text tokens.
            text_mask (Tensor, optional): (B, T) bool, True = valid.

        Returns:
            tuple: ``memory`` (B, h*w + T, C), ``memory_padding_mask`` (B, h*w + T) bool
            (True = padding), ``visual_out`` (B, C, h, w) the fused visual tokens as a map.
        """
        b, c, h, w = visual.shape
        if c != self.embed_dims:
            raise ValueError(f'MultimodalFusionEncoder expects {self.embed_dims} channels, '
                             f'got {c}')
        vis = visual.flatten(2).transpose(1, 2)
        pos = sine_positional_encoding_2d(h, w, c, device=vis.device, dtype=vis.dtype)[None]
        pos = pos + self.modality_embed.weight[0]
        pad = torch.zeros(b, h * w, dtype=torch.bool, device=vis.device)
        if text is not None:
            t = text.shape[1]
            if t > self.text_pos.num_embeddings:
                raise ValueError(f'{t} text tokens > max_text_len='
                                 f'{self.text_pos.num_embeddings}')
            tpos = self.text_pos.weight[:t][None] + self.modality_embed.weight[1]
            x = torch.cat([vis, text], dim=1)
            pos = torch.cat([pos.expand(b, -1, -1), tpos.expand(b, -1, -1)], dim=1)
            tmask = (torch.ones(b, t, dtype=torch.bool, device=vis.device)
                     if text_mask is None else text_mask.bool())
            pad = torch.cat([pad, ~tmask], dim=1)
        else:
            x = vis
        for layer in self.layers:
            x = layer(x, pos, pad)
        x = self.norm(x)
        visual_out = x[:, :h * w].transpose(1, 2).reshape(b, c, h, w)
        return x, pad, visual_out
