"""Pipeline steps of the RECS datasets.

No paper part; docs/datasets.md "Pipelines", docs/design.md §1.
"""
from .contour_target import ContourTarget
from .image_cache import CachedLoadImageFromFile
from .loading import LoadRECSAnnotations
from .original_image import KeepOriginalImage, PackRECSInputs
from .text import CleanText

__all__ = [
    'CachedLoadImageFromFile', 'LoadRECSAnnotations', 'CleanText', 'ContourTarget',
    'KeepOriginalImage', 'PackRECSInputs'
]
