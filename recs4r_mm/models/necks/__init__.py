"""Necks."""
from .cimf import CIMF

__all__ = ['CIMF']
