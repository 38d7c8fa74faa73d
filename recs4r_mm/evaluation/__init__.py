"""Evaluation of recs4r_mm (imports structures at most, never models)."""
from .metrics import RECSMetric, box_inter_union

__all__ = ['RECSMetric', 'box_inter_union']
