"""Heads.

LUCDP head (RECS4R, CVPR 2026, Key Design 1), the auxiliary grounding head and the confidence
head (not in the paper);
docs/design.md §2 step 5, §8.
"""
from .grounding_aux_head import GroundingAuxHead
from .lucdp_head import LUCDPHead
from .score_head import ContourScoreHead
from .sequence_format import (FORCED_PREFIX, SEQ_FORMATS, add_box_prefix, ring_ids_from_tokens,
                              split_box_prefix)

__all__ = [
    'GroundingAuxHead', 'LUCDPHead', 'ContourScoreHead', 'FORCED_PREFIX', 'SEQ_FORMATS',
    'add_box_prefix', 'ring_ids_from_tokens', 'split_box_prefix'
]
