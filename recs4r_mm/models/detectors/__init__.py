"""Detectors.

RECS4R (CVPR 2026), Overall Architecture: docs/design.md §1-§5.
"""
from .recs4r import RECS4R

__all__ = ['RECS4R']
