"""Confidence head: the probability that the decoded contour is the referred object (not in
the paper; docs/design.md §8 "Calibrated score").

The decoder's own token probabilities say how sure it is of the *shape* it draws, not whether
it drew the *right object*: they read about 1.0 for a wrong object or on a noise image. This
head reads the fine stage's fused image-and-text memory of the crop the fine stage was given
(and so of the object the coarse stage chose) and predicts whether that crop's source box
overlaps the referred target by IoU >= ``iou_thr``; no-target expressions are negatives. It
is trained with the other losses on the crops the fine stage trains on, which include the
coarse stage's own free-running boxes (``refine.decoded_prob``), so its negatives are the
model's real mistakes.
"""
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from recs4r_mm.registry import MODELS


@MODELS.register_module()
class ContourScoreHead(BaseModule):
    """One learned query attends to the memory; an MLP gives one logit per sample.

    Args:
        embed_dims (int): C of the memory.
        num_heads (int): Heads of the pooling attention.
        iou_thr (float): A source box with IoU >= this with the target box is a positive.
        positives (str): ``'iou'``: every training crop is labelled by its source box's IoU;
            ``'gt_crops'``: the crops made around the GT (jittered, which the fine stage is
            trained to recover the object from) are positives whatever their IoU, the coarse
            stage's own boxes are labelled by IoU.
        loss_weight (float): Weight of the binary cross-entropy.
    """

    def __init__(self, embed_dims: int, num_heads: int = 4, iou_thr: float = 0.5,
                 positives: str = 'iou', loss_weight: float = 1.0, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.query = nn.Parameter(torch.zeros(1, 1, embed_dims))
        nn.init.normal_(self.query, std=0.02)
        self.attn = nn.MultiheadAttention(embed_dims, num_heads, batch_first=True)
        self.mlp = nn.Sequential(nn.LayerNorm(embed_dims), nn.Linear(embed_dims, embed_dims),
                                 nn.ReLU(inplace=True), nn.Linear(embed_dims, 1))
        if positives not in ('iou', 'gt_crops'):
            raise ValueError(f"ContourScoreHead.positives must be 'iou' or 'gt_crops', got "
                             f'{positives!r}')
        self.positives = positives
        self.iou_thr = float(iou_thr)
        self.loss_weight = float(loss_weight)

    def forward(self, memory: Tensor, padding_mask: Optional[Tensor] = None) -> Tensor:
        """memory (B, S, C), padding mask (B, S) (True = padding) -> logits (B,)."""
        q = self.query.expand(memory.shape[0], -1, -1).to(memory)
        pooled = self.attn(q, memory, memory, key_padding_mask=padding_mask,
                           need_weights=False)[0]
        return self.mlp(pooled)[:, 0, 0]

    def loss(self, logits: Tensor, src_iou: Tensor, present: Tensor,
             from_gt: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """BCE of "the crop's source box is the target": ``src_iou`` (B,) IoU of each source
        box with the target box, ``present`` (B,) bool (False: no-target expression),
        ``from_gt`` (B,) bool: the crop was made around the GT box (``positives='gt_crops'``).
        """
        right = src_iou >= self.iou_thr
        if self.positives == 'gt_crops' and from_gt is not None:
            right = right | from_gt
        target = (right & present).to(logits)
        loss = F.binary_cross_entropy_with_logits(logits, target)
        with torch.no_grad():
            acc = ((logits > 0).to(target) == target).float().mean() * 100
        return dict(loss_score=self.loss_weight * loss, acc_score=acc)
