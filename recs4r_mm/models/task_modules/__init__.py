"""Task modules (mmdet's TASK_UTILS): the contour-sequence coder and the fine-text template."""
from .coders import ContourSequenceCoder
from .fine_text import FineTextTemplate

__all__ = ['ContourSequenceCoder', 'FineTextTemplate']
