"""Text and multimodal encoders.

BERT text encoder and the multimodal encoder of RECS4R (CVPR 2026, Overall Architecture; after
PolyFormer, Liu et al., CVPR 2023); docs/design.md §2 steps 1 and 4.
"""
from .fusion_encoder import MultimodalFusionEncoder
from .text_encoder import BertTextEncoder

__all__ = ['BertTextEncoder', 'MultimodalFusionEncoder']
