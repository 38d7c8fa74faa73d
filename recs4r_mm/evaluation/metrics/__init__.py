"""Metrics of recs4r_mm.

RECSMetric: RECS4R (CVPR 2026) Experiments, RECS Sum; docs/datasets.md "Metric".
"""
from .recs_metric import RECSMetric, box_inter_union

__all__ = ['RECSMetric', 'box_inter_union']
