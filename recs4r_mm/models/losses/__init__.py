"""Losses of RECS4R (mmdet's CrossEntropyLoss, L1Loss and GIoULoss are used too)."""
from .composite_loss import CompositeLoss
from .gcl_loss import GradientConsistencyLoss, sobel_magnitude
from .smooth_l2_loss import SmoothL2Loss, smooth_l2_loss

__all__ = [
    'CompositeLoss', 'GradientConsistencyLoss', 'sobel_magnitude', 'SmoothL2Loss',
    'smooth_l2_loss'
]
