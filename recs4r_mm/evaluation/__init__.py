"""Evaluation of recs4r_mm (imports structures at most, never models).

The RECS scores of RECS4R (CVPR 2026, Experiments: RECS Sum); protocol: docs/datasets.md "Metric".
"""
from .metrics import RECSMetric, box_inter_union

__all__ = ['RECSMetric', 'box_inter_union']
