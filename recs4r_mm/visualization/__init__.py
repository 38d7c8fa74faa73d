from .recs_visualizer import RECSLocalVisualizer

__all__ = ['RECSLocalVisualizer']
