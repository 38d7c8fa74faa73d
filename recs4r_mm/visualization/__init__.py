"""Visualisation (no paper part): :class:`RECSLocalVisualizer` (docs/datasets.md "Browsing") and
:func:`draw_scene_predictions`, :func:`draw_scene_raster` (docs/scene_inference.md)."""
from .recs_visualizer import RECSLocalVisualizer
from .scene_drawing import draw_scene_figure, draw_scene_predictions, draw_scene_raster

__all__ = [
    'RECSLocalVisualizer', 'draw_scene_predictions', 'draw_scene_figure', 'draw_scene_raster'
]
