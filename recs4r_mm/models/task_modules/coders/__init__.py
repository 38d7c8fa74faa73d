from .contour_sequence_coder import ContourSequenceCoder

__all__ = ['ContourSequenceCoder']
