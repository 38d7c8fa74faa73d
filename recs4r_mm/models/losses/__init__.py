"""Losses of RECS4R (mmdet's CrossEntropyLoss, L1Loss and GIoULoss are used too).

RECS4R (CVPR 2026), Loss & Training: L = L_cls + λ1 L1 + λ2 smooth-L2 + λ3 L_coarse + λ4 L_gcl;
docs/design.md §5.
"""
from .composite_loss import CompositeLoss
from .gcl_loss import GradientConsistencyLoss, sobel_magnitude
from .smooth_l2_loss import SmoothL2Loss, smooth_l2_loss

__all__ = [
    'CompositeLoss', 'GradientConsistencyLoss', 'sobel_magnitude', 'SmoothL2Loss',
    'smooth_l2_loss'
]
