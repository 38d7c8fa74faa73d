"""Runner-side parts: hooks."""
from .hooks import ContourBudgetLoggerHook

__all__ = ['ContourBudgetLoggerHook']
