"""Scene predictions -> a GeoJSON FeatureCollection in the raster's CRS or in WGS84.

No paper part; docs/scene_inference.md "Output". Geometry goes through shapely (validity,
ring orientation, area) and, for ``wgs84``, GDAL's reprojection (``rasterio.warp``); the file
is written with :mod:`json` to a temporary file beside the output, then renamed, so a failed
run leaves nothing at the output path.
"""
import json
import os
import os.path as osp
import tempfile
from typing import Dict, List, Optional, Sequence

import numpy as np

from recs4r_mm.structures import oriented_box_to_list, points_to_oriented_box
from .scene_raster import SceneError, SceneRaster


def _geometry(parts: Sequence[Dict], scene: SceneRaster):
    """Polygons in file pixels -> a valid shapely (Multi)Polygon in map coordinates, exterior
    rings counter-clockwise (RFC 7946), or None when nothing is left."""
    from shapely import make_valid
    from shapely.geometry import MultiPolygon, Polygon
    from shapely.geometry.polygon import orient
    from shapely.ops import unary_union
    polys = []
    for p in parts:
        outer = scene.pixels_to_map(p['outer'])
        holes = [scene.pixels_to_map(h) for h in p['holes'] if len(h) >= 3]
        if len(outer) < 3:
            continue
        geom = make_valid(Polygon(outer, holes))
        polys.extend(g for g in getattr(geom, 'geoms', [geom])
                     if g.geom_type in ('Polygon', 'MultiPolygon') and not g.is_empty)
    if not polys:
        return None
    geom = unary_union(polys)
    if geom.geom_type == 'Polygon':
        return orient(geom, 1.0)
    return MultiPolygon([orient(g, 1.0) for g in geom.geoms if g.geom_type == 'Polygon'])


def _to_wgs84(geom_json: Dict, scene: SceneRaster):
    from rasterio.warp import transform_geom
    from shapely.geometry import shape
    return shape(transform_geom(scene.crs, 'EPSG:4326', geom_json))


def _snapped(geom, grid: float):
    """``geom`` on the grid of the written precision (``grid`` units): still valid there
    (rounding alone can make a thin part cross itself), exterior rings counter-clockwise;
    None when nothing is left."""
    from shapely import set_precision
    from shapely.geometry import MultiPolygon
    from shapely.geometry.polygon import orient
    geom = set_precision(geom, grid)
    polys = [orient(g, 1.0) for g in getattr(geom, 'geoms', [geom])
             if g.geom_type == 'Polygon' and not g.is_empty]
    if not polys:
        return None
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def _points_to_wgs84(xy: np.ndarray, scene: SceneRaster) -> np.ndarray:
    from rasterio.warp import transform
    lon, lat = transform(scene.crs, 'EPSG:4326', xy[:, 0].tolist(), xy[:, 1].tolist())
    return np.stack([lon, lat], 1)


def _rounded(obj, ndigits: int):
    if isinstance(obj, float):
        return round(obj, ndigits)
    if isinstance(obj, (list, tuple)):
        return [_rounded(v, ndigits) for v in obj]
    if isinstance(obj, dict):
        return {k: _rounded(v, ndigits) for k, v in obj.items()}
    return obj


def crs_units(scene: SceneRaster) -> str:
    """Linear unit of the raster's coordinates ('metre', 'degree', ... or 'pixel')."""
    if scene.crs is None:
        return 'pixel'
    return scene.crs.linear_units or ('degree' if scene.crs.is_geographic else 'unknown')


def scene_feature(pred: Dict, scene: SceneRaster, wgs84: bool = False) -> Dict:
    """One prediction of :class:`SceneInferencer` -> a GeoJSON Feature (geometry None when the
    model decoded no polygon). Properties: ``expression``, ``score``, ``passes``,
    ``pixel_box`` (file px), ``pixel_oriented_box`` (file px), ``oriented_box`` (raster CRS
    units; its ``corners`` also as ``oriented_box_wgs84`` with ``wgs84``), ``area`` and
    ``area_units`` (raster CRS units squared), ``windows`` (file px, one per fine pass)."""
    from shapely.geometry import mapping
    geom = _geometry(pred['polygons'], scene)
    unit = crs_units(scene)
    props = dict(expression=pred['text'], score=pred['score'], passes=pred['passes'],
                 pixel_box=pred['bbox'], pixel_oriented_box=None, oriented_box=None,
                 area=0.0, area_units=f'{unit}^2', windows=pred['windows'],
                 coarse_pixel_box=pred['coarse_box'])
    geometry = None
    ndigits = 9 if wgs84 else 4  # decimals written: 0.1 mm in a metric CRS, ~0.1 mm in WGS84
    if geom is not None:
        props['pixel_oriented_box'] = oriented_box_to_list(pred['oriented_box'])
        rings = np.concatenate([scene.pixels_to_map(p['outer']) for p in pred['polygons']])
        obox = points_to_oriented_box(rings)
        props['oriented_box'] = oriented_box_to_list(obox, 6)
        props['area'] = float(geom.area)
        if wgs84:
            geom = _to_wgs84(mapping(geom), scene)
            props['oriented_box_wgs84'] = _points_to_wgs84(obox['corners'], scene).tolist()
        geom = _snapped(geom, 10.0**-ndigits)
        geometry = None if geom is None else mapping(geom)
    return dict(type='Feature', geometry=_rounded(geometry, ndigits),
                properties=_rounded(props, 4))


def feature_collection(preds: Sequence[Dict], scene: SceneRaster, wgs84: bool = False,
                       meta: Optional[Dict] = None) -> Dict:
    """Predictions -> a FeatureCollection, one Feature per prediction but those saying "no
    target" (``no_target``, a generalized model's answer; none at all gives an empty
    ``features`` list). Without ``wgs84`` the raster CRS is named in a ``crs`` member as GDAL
    writes it (``urn:ogc:def:crs:EPSG::<code>``); with it, coordinates are longitude/latitude
    (RFC 7946, no ``crs``). ``meta`` goes in a ``recs4r`` member."""
    if wgs84 and scene.crs is None:
        raise SceneError(f'{scene.path} has no CRS: it cannot be reprojected to WGS84 '
                         '(drop --wgs84)')
    out = dict(type='FeatureCollection')
    if not wgs84 and scene.crs is not None:
        code = scene.crs.to_epsg()
        name = f'urn:ogc:def:crs:EPSG::{code}' if code else scene.crs.to_wkt()
        out['crs'] = dict(type='name', properties=dict(name=name))
    out['features'] = [scene_feature(p, scene, wgs84) for p in preds if not p.get('no_target')]
    out['recs4r'] = dict(meta or {}, coordinates='wgs84' if wgs84 else (
        'crs' if scene.crs is not None else 'pixel'))
    return out


def check_writable(path: str) -> None:
    """Fail early (before any inference) when ``path`` cannot be written."""
    folder = osp.dirname(osp.abspath(path))
    if osp.isdir(path):
        raise SceneError(f'cannot write {path}: it is a directory')
    if not osp.isdir(folder):
        raise SceneError(f'cannot write {path}: directory {folder} does not exist')
    if not os.access(folder, os.W_OK):
        raise SceneError(f'cannot write {path}: directory {folder} is not writable')


def write_json_atomic(obj, path: str) -> None:
    """Write ``obj`` as JSON to a temporary file beside ``path``, then rename it there."""
    check_writable(path)
    folder = osp.dirname(osp.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(path)}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'w') as f:
            json.dump(obj, f, allow_nan=False)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


__all__: List[str] = ['scene_feature', 'feature_collection', 'write_json_atomic',
                      'check_writable', 'crs_units']
