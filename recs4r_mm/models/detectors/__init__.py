"""Detectors."""
from .recs4r import RECS4R

__all__ = ['RECS4R']
