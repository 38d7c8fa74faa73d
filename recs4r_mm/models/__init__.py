"""RECS4R models, one subpackage per registry role (mmyolo style).

RECS4R (CVPR 2026); the modules in the order of the data flow: docs/design.md "At a glance".
"""
from .backbones import VMamba
from .data_preprocessors import RECSDataPreprocessor
from .detectors import RECS4R
from .encoders import BertTextEncoder, MultimodalFusionEncoder
from .heads import LUCDPHead
from .layers import RCE, CoordGridEmbedding, soft_rasterize
from .losses import GradientConsistencyLoss, SmoothL2Loss
from .necks import CIMF
from .task_modules import ContourSequenceCoder, FineTextTemplate

__all__ = [
    'VMamba', 'RECS4R', 'FineTextTemplate', 'BertTextEncoder', 'MultimodalFusionEncoder',
    'LUCDPHead', 'RCE', 'CoordGridEmbedding', 'soft_rasterize', 'GradientConsistencyLoss',
    'SmoothL2Loss', 'CIMF', 'ContourSequenceCoder', 'RECSDataPreprocessor'
]
