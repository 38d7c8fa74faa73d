"""GCL: Gradient Consistency Loss (boundary fields compared in the gradient domain).

RECS4R (CVPR 2026), Key Design 4: ∇M = sqrt((Ex*M)^2 + (Ey*M)^2), L_gcl = ||∇M_p − ∇M_g||_1
(λ4 = 0.1); docs/design.md §5, docs/plugins.md "GradientConsistencyLoss".
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.losses.utils import weight_reduce_loss
from torch import Tensor

from recs4r_mm.registry import MODELS

_SOBEL_X = torch.tensor([[-1., 0., 1.], [-2., 0., 2.], [-1., 0., 1.]])


def sobel_magnitude(masks: Tensor, eps: float = 1e-6, normalize: bool = True) -> Tensor:
    """Sobel gradient magnitude ``sqrt((Ex*M)^2 + (Ey*M)^2)`` of (N, H, W) or (N, C, H, W) maps.

    Replicate padding (no spurious edge at the image border); ``normalize`` divides by the
    Sobel gain 4 so a unit step has magnitude ~1; ``eps`` keeps the sqrt differentiable at 0.
    """
    squeeze = masks.dim() == 3
    x = masks[:, None] if squeeze else masks
    n, c, h, w = x.shape
    kx = _SOBEL_X.to(x)
    kernel = torch.stack([kx, kx.t()])[:, None]  # (2, 1, 3, 3)
    x = F.pad(x.reshape(n * c, 1, h, w), (1, 1, 1, 1), mode='replicate')
    g = F.conv2d(x, kernel)  # (N*C, 2, H, W)
    if normalize:
        g = g / 4.0
    mag = torch.sqrt((g * g).sum(1) + eps).reshape(n, c, h, w)  # Eq. (GCL): ∇M
    return mag[:, 0] if squeeze else mag


@MODELS.register_module()
class GradientConsistencyLoss(nn.Module):
    """Eq. (GCL): L_gcl = || grad(M_p) - grad(M_g) ||_1 with grad = Sobel magnitude.

    Usable as the mask loss of stock heads:

    - RECS4R: ``pred`` (N, H, W) soft-rasterised contours (probabilities), ``target`` (N, H, W).
    - mmdet mask heads (e.g. FCNMaskHead with ``activation='sigmoid'``): ``pred`` (N, C, H, W)
      logits, ``target`` (N, H, W) binary, the third positional argument holds the labels
      (N,) that select each RoI's channel (as mmdet's CrossEntropyLoss(use_mask=True) reads it).
    - mmseg decode heads (``activation='softmax'``): ``pred`` (N, C, H, W) logits, ``target``
      (N, H, W) class indices (``ignore_index`` pixels ignored), one-hot internally.

    The per-pixel L1 is averaged over pixels (and classes) per sample, then reduced over
    samples with ``weight`` (N,) / ``avg_factor`` like other mmdet losses. Empty input gives a
    zero loss connected to the graph.

    Args:
        activation (str, optional): None (``pred`` already in [0, 1]), 'sigmoid' or 'softmax'.
        reduction (str): 'none' | 'mean' | 'sum'.
        loss_weight (float): lambda_4 in the paper (0.1).
        eps (float): Inside the Sobel square root.
        ignore_index (int): Ignored label for the multi-class (mmseg) case.
        loss_name (str): Name used by mmseg decode heads.
    """

    def __init__(self,
                 activation: Optional[str] = None,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 eps: float = 1e-6,
                 ignore_index: int = 255,
                 loss_name: str = 'loss_gcl') -> None:
        super().__init__()
        if activation not in (None, 'sigmoid', 'softmax'):
            raise ValueError(f"activation must be None, 'sigmoid' or 'softmax', "
                             f'got {activation!r}')
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError(f'bad reduction {reduction!r}')
        self.activation = activation
        self.reduction = reduction
        self.loss_weight = loss_weight
        self.eps = eps
        self.ignore_index = ignore_index
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def _prepare(self, pred: Tensor, target: Tensor, weight: Optional[Tensor],
                 ignore_index: int):
        """Bring pred/target to matching (N, [C,] H, W) probabilities."""
        valid = None
        if pred.dim() == 4 and target.dim() == 3:
            n, c = pred.shape[:2]
            if not target.is_floating_point() and target.dtype != torch.bool and c > 1 \
                    and self.activation == 'softmax':
                # multi-class label map (mmseg)
                valid = (target != ignore_index)
                labels = target.clamp(0, c - 1).long() * valid
                target = F.one_hot(labels, c).permute(0, 3, 1, 2).to(pred.dtype)
                prob = pred.softmax(dim=1)
                valid = valid[:, None].to(pred.dtype)
                return prob * valid, target * valid, weight
            if weight is not None and weight.dim() == 1 and weight.numel() == n:
                # mmdet mask heads pass the RoI labels as third argument (zeros if agnostic);
                # checked first, as mmdet's CrossEntropyLoss(use_mask=True) does
                pred = pred[torch.arange(n, device=pred.device), weight.long()]
                weight = None
            elif c == 1:
                pred = pred[:, 0]
            else:
                raise ValueError(f'GradientConsistencyLoss: pred {tuple(pred.shape)} with '
                                 f'target {tuple(target.shape)} needs labels (N,) to pick '
                                 "a channel, or activation='softmax' with label maps")
        if pred.dim() < 3:
            raise ValueError('GradientConsistencyLoss needs spatial maps (N, H, W), got '
                             f'pred {tuple(pred.shape)} (point-sampled masks are not maps)')
        if self.activation == 'sigmoid':
            pred = pred.sigmoid()
        elif self.activation == 'softmax' and pred.dim() == 4:
            pred = pred.softmax(dim=1)
        target = target.to(pred.dtype)
        if target.shape[-2:] != pred.shape[-2:]:
            shape = target.shape
            target = F.interpolate(target.reshape(-1, 1, *shape[-2:]), size=pred.shape[-2:],
                                   mode='bilinear', align_corners=False)
            target = target.reshape(*shape[:-2], *pred.shape[-2:])
        if target.shape != pred.shape:
            raise ValueError(f'GradientConsistencyLoss: pred {tuple(pred.shape)} and target '
                             f'{tuple(target.shape)} do not match')
        return pred, target, weight

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                ignore_index: Optional[int] = None,
                **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): (N, H, W) or (N, C, H, W) predicted masks (see class doc).
            target (Tensor): (N, H, W) ground truth (binary masks or label maps).
            weight (Tensor, optional): (N,) per-sample weights, (N, H, W) pixel weights, or
                (N,) RoI labels for (N, C, H, W) mmdet mask logits.
            avg_factor (float, optional): Denominator of the mean over samples.
            reduction_override (str, optional): Overrides ``reduction``.
            ignore_index (int, optional): Overrides ``ignore_index``.

        Returns:
            Tensor: scalar loss (or (N,) with reduction 'none').
        """
        reduction = reduction_override or self.reduction
        if pred.numel() == 0 or pred.shape[0] == 0:
            return pred.sum() * 0.0
        ignore_index = self.ignore_index if ignore_index is None else ignore_index
        pred, target, weight = self._prepare(pred, target, weight, ignore_index)
        # Eq. (GCL): L_gcl = ||∇M_p − ∇M_g||_1 (averaged over pixels per sample)
        diff = (sobel_magnitude(pred, self.eps) - sobel_magnitude(target, self.eps)).abs()
        if weight is not None and weight.dim() > 1:
            diff = diff * weight.reshape(diff.shape[0], *([1] * (diff.dim() - 3)),
                                         *diff.shape[-2:]).to(diff)
            weight = None
        per_sample = diff.flatten(1).mean(1)  # (N,)
        if weight is not None:
            weight = weight.reshape(-1).to(per_sample)
        loss = weight_reduce_loss(per_sample, weight, reduction, avg_factor)
        return self.loss_weight * loss
