"""Inference API: :class:`RECSInferencer` runs a RECS4R model on (image, expression) pairs
(no paper part; docs/get_started.md §4 "Demo")."""
from .inferencer import RECSInferencer

__all__ = ['RECSInferencer']
