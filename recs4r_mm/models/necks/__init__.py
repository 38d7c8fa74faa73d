"""Necks.

CIMF (RECS4R, CVPR 2026, Key Design 3); docs/design.md §2 step 3, docs/plugins.md "CIMF neck".
"""
from .cimf import CIMF

__all__ = ['CIMF']
