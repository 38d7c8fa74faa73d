"""Pipeline steps of the RECS datasets."""
from .contour_target import ContourTarget
from .loading import LoadRECSAnnotations
from .text import CleanText

__all__ = ['LoadRECSAnnotations', 'CleanText', 'ContourTarget']
