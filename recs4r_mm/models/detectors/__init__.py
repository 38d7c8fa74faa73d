"""Detectors."""
from .fine_text import FineTextTemplate
from .recs4r import RECS4R

__all__ = ['RECS4R', 'FineTextTemplate']
