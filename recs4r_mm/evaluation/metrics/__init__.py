"""Metrics of recs4r_mm."""
from .recs_metric import RECSMetric, box_inter_union

__all__ = ['RECSMetric', 'box_inter_union']
