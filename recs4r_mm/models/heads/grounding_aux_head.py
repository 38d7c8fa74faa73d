"""Auxiliary dense grounding head (not part of the paper, off by default).

docs/design.md §8 "dense grounding loss".
"""
from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from recs4r_mm.registry import MODELS


@MODELS.register_module()
class GroundingAuxHead(BaseModule):
    """Per-token "is this the referred object" logits on the fused visual map.

    The contour decoder learns *which* object is referred only through the few vertices of
    one sequence per sample; this head supervises every visual token of the multimodal
    encoder's output with the referred object's coverage of its cell (BCE + Dice), so
    language-to-region grounding gets a dense signal. The prediction is still Rect/Fill of
    the decoded contour; with ``pointer_prior`` the logits are also added to the attention
    of a pointer-regression LUCDP head, in training and inference, so that the vertices are
    looked for on the object the grounding map highlights.

    Args:
        embed_dims (int): C of the visual map.
        loss_weight (float): Weight of (BCE + Dice).
        pointer_prior (bool): Feed the logits to the LUCDP pointer as an attention prior.
    """

    def __init__(self, embed_dims: int, loss_weight: float = 1.0, pointer_prior: bool = False,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.conv = nn.Conv2d(embed_dims, 1, 1)
        self.loss_weight = float(loss_weight)
        self.pointer_prior = bool(pointer_prior)

    def forward(self, visual: Tensor) -> Tensor:
        """(B, C, h, w) -> logits (B, h, w)."""
        return self.conv(visual)[:, 0]

    def loss(self, logits: Tensor, gt_masks: Tensor,
             weights: Optional[Tensor] = None) -> Tensor:
        """BCE + Dice between the logits and the GT coverage of each cell.

        Args:
            logits (Tensor): (B, h, w) output of :meth:`forward`.
            gt_masks (Tensor): (B, H, W) GT masks in {0, 1} on the same extent as the map.
            weights (Tensor, optional): (B,) per-sample weights (0 = no mask target).
        """
        target = F.adaptive_avg_pool2d(gt_masks[:, None].to(logits), logits.shape[-2:])[:, 0]
        w = logits.new_ones(logits.shape[0]) if weights is None else weights.to(logits)
        bce = F.binary_cross_entropy_with_logits(logits, target, reduction='none').mean((1, 2))
        p = logits.sigmoid()
        inter = (p * target).sum((1, 2))
        dice = 1 - (2 * inter + 1) / (p.sum((1, 2)) + target.sum((1, 2)) + 1)
        return self.loss_weight * ((bce + dice) * w).sum() / w.sum().clamp(min=1.0)
