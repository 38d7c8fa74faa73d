"""Text and multimodal encoders."""
from .fusion_encoder import MultimodalFusionEncoder
from .text_encoder import BertTextEncoder

__all__ = ['BertTextEncoder', 'MultimodalFusionEncoder']
