"""Heads."""
from .grounding_aux_head import GroundingAuxHead
from .lucdp_head import LUCDPHead
from .sequence_format import (FORCED_PREFIX, SEQ_FORMATS, add_box_prefix, ring_ids_from_tokens,
                              split_box_prefix)

__all__ = [
    'GroundingAuxHead', 'LUCDPHead', 'FORCED_PREFIX', 'SEQ_FORMATS', 'add_box_prefix',
    'ring_ids_from_tokens', 'split_box_prefix'
]
