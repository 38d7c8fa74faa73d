"""Hooks: :class:`ContourBudgetLoggerHook` (no paper part; docs/design.md §6 "Fragmented
targets")."""
from .contour_budget_hook import ContourBudgetLoggerHook

__all__ = ['ContourBudgetLoggerHook']
