"""Runner-side parts: hooks.

No paper part; the contour budget summary: docs/design.md §6 "Fragmented targets".
"""
from .hooks import ContourBudgetLoggerHook

__all__ = ['ContourBudgetLoggerHook']
