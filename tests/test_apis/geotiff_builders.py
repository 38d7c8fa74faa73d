"""GeoTIFFs written by rasterio for the scene tests: UTM zone 33N, a known affine transform,
internal tiling, deflate compression and internal overviews."""
import numpy as np

CRS = 'EPSG:32633'
ORIGIN = (500000.0, 4100000.0)  # map x, y of the top-left corner (on the zone's meridian)
PIXEL = 0.5  # metres


def write_geotiff(path, bands: np.ndarray, crs=CRS, origin=ORIGIN, pixel=PIXEL, nodata=None,
                  overviews=(2, 4, 8, 16), block=256, colorinterp=None):
    """Write ``bands`` (C, H, W) as a tiled GeoTIFF with overviews; returns its path."""
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.transform import from_origin
    c, h, w = bands.shape
    profile = dict(driver='GTiff', width=w, height=h, count=c, dtype=bands.dtype.name,
                   transform=from_origin(origin[0], origin[1], pixel, pixel), tiled=True,
                   blockxsize=block, blockysize=block, compress='deflate')
    if crs is not None:
        profile['crs'] = crs
    if nodata is not None:
        profile['nodata'] = nodata
    with rasterio.open(path, 'w', **profile) as ds:
        ds.write(bands)
        if colorinterp is not None:
            ds.colorinterp = colorinterp
        if overviews:
            ds.build_overviews([f for f in overviews if f < min(h, w)], Resampling.average)
    return str(path)


def pixel_to_map(cols, rows, origin=ORIGIN, pixel=PIXEL):
    """Continuous file pixels -> map coordinates of ``write_geotiff``'s transform."""
    return origin[0] + pixel * np.asarray(cols, float), origin[1] - pixel * np.asarray(rows, float)


def scene_with_rectangle(size: int, rect, background=60, value=250, count=3,
                         dtype=np.uint8) -> np.ndarray:
    """(count, size, size) constant scene with the pixels ``rect`` = (col0, row0, col1, row1)
    (end exclusive) set to ``value``."""
    bands = np.full((count, size, size), background, dtype)
    c0, r0, c1, r1 = rect
    bands[:, r0:r1, c0:c1] = value
    return bands
