"""CompositeLoss: several losses summed behind one loss slot (e.g. CE + GCL as ``loss_mask``).

No paper part (puts GCL, Key Design 4, beside a stock mask loss); docs/plugins.md
"GradientConsistencyLoss".
"""
from typing import List

import torch.nn as nn
from torch import Tensor

from recs4r_mm.registry import MODELS


@MODELS.register_module()
class CompositeLoss(nn.Module):
    """Sum of ``losses``, each called with the arguments the owning head passes.

    Lets a head that builds a single loss (mmdet's FCNMaskHead ``loss_mask``:
    ``(mask_logits (N, C, h, w), mask_targets (N, h, w), labels (N,))``) train with several,
    e.g. ``losses=[dict(type='CrossEntropyLoss', use_mask=True),
    dict(type='GradientConsistencyLoss', activation='sigmoid', loss_weight=0.1)]``.
    Each member keeps its own ``loss_weight``; ``reduction_override``/``avg_factor`` and other
    keyword arguments are forwarded to every member.

    Args:
        losses (list[dict]): Configs of the member losses (built with mmdet's MODELS).
    """

    def __init__(self, losses: List[dict]) -> None:
        super().__init__()
        if not losses:
            raise ValueError('CompositeLoss needs at least one loss config')
        self.losses = nn.ModuleList(MODELS.build(cfg) for cfg in losses)

    def forward(self, *args, **kwargs) -> Tensor:
        return sum(loss(*args, **kwargs) for loss in self.losses)
