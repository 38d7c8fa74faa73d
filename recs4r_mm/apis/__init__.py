"""Inference API: :class:`RECSInferencer` runs a RECS4R model on (image, expression) pairs;
:class:`SceneInferencer` on a raster scene read in windows (:class:`SceneRaster`), and
:mod:`.geojson` writes its polygons as GeoJSON (no paper part; docs/get_started.md §4 "Demo",
docs/scene_inference.md)."""
from .inferencer import RECSInferencer
from .scene_inferencer import SceneInferencer
from .scene_raster import SceneError, SceneRaster

__all__ = ['RECSInferencer', 'SceneInferencer', 'SceneRaster', 'SceneError']
