"""Smooth-L2 vertex regression loss.

RECS4R (CVPR 2026), Loss & Training: the λ2 smooth-L2 term (undefined in the paper; our reading:
docs/design.md §8 "smooth-L2").
"""
from typing import Optional

import torch
import torch.nn as nn
from mmdet.models.losses.utils import weight_reduce_loss
from torch import Tensor

from recs4r_mm.registry import MODELS


def smooth_l2_loss(pred: Tensor, target: Tensor, beta: float = 0.05,
                   eps: float = 1e-12) -> Tensor:
    """Huber penalty on the Euclidean (L2) distance between points.

    e = ||pred - target||_2 over the last dim; loss = 0.5 e^2 / beta if e < beta else
    e - 0.5 beta (quadratic near the target, linear far away). (..., D) -> (...).
    """
    if pred.shape != target.shape:
        raise ValueError(f'smooth_l2_loss: pred {tuple(pred.shape)} vs target '
                         f'{tuple(target.shape)}')
    # Eq. (L), smooth-L2 term (our reading, docs/design.md §8): Huber on e = ||p − g||_2
    e = torch.sqrt(((pred - target)**2).sum(-1) + eps)
    return torch.where(e < beta, 0.5 * e * e / beta, e - 0.5 * beta)


@MODELS.register_module()
class SmoothL2Loss(nn.Module):
    """Eq. (L): L^{smooth-l2}_reg, the smoothed L2 distance between predicted and GT vertices.

    The paper names the term without defining it; we read it as the Huber (smooth) version of
    the per-vertex Euclidean distance, complementary to the per-coordinate L1 term.

    Args:
        beta (float): Transition distance (in normalised coordinates).
        reduction (str): 'none' | 'mean' | 'sum'.
        loss_weight (float): lambda_2 (paper: 1).
    """

    def __init__(self, beta: float = 0.05, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.beta = beta
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> Tensor:
        """pred, target: (N, D) points; weight: (N,) per point."""
        reduction = reduction_override or self.reduction
        if pred.numel() == 0:
            return pred.sum() * 0.0
        loss = smooth_l2_loss(pred, target, self.beta)
        if weight is not None:
            weight = weight.reshape(loss.shape).to(loss)
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction, avg_factor)
