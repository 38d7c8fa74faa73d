"""Coders: :class:`ContourSequenceCoder` (LUCDP's sequence: RECS4R, CVPR 2026, Key Design 1;
docs/design.md §6)."""
from .contour_sequence_coder import ContourSequenceCoder

__all__ = ['ContourSequenceCoder']
