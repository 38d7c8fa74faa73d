"""Task modules (mmdet's TASK_UTILS): the contour-sequence coder and the fine-text template.

RECS4R (CVPR 2026): LUCDP's sequence (Key Design 1) and the fine text T_f (Overall Architecture);
docs/design.md §3, §6.
"""
from .coders import ContourSequenceCoder
from .fine_text import FineTextTemplate

__all__ = ['ContourSequenceCoder', 'FineTextTemplate']
