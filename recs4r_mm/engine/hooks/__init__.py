from .contour_budget_hook import ContourBudgetLoggerHook

__all__ = ['ContourBudgetLoggerHook']
