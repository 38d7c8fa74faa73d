"""Visualisation (no paper part): :class:`RECSLocalVisualizer`; docs/datasets.md "Browsing"."""
from .recs_visualizer import RECSLocalVisualizer

__all__ = ['RECSLocalVisualizer']
