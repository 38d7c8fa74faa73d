"""Heads."""
from .lucdp_head import LUCDPHead
from .sequence_format import (FORCED_PREFIX, SEQ_FORMATS, add_box_prefix,
                              ring_ids_from_tokens, split_box_prefix)

__all__ = [
    'LUCDPHead', 'FORCED_PREFIX', 'SEQ_FORMATS', 'add_box_prefix', 'ring_ids_from_tokens',
    'split_box_prefix'
]
