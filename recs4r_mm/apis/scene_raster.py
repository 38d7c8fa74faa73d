"""A raster scene read in windows: band choice, stretch to 8-bit RGB, nodata, pixel -> map.

No paper part; docs/scene_inference.md. The scene is never read whole at native resolution:
every read is a window resampled to the size the model wants (GDAL takes it from the file's
internal overviews when the window is decimated), so memory is bounded by the reads.
"""
import math
import os.path as osp
import warnings
from typing import Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log

STRETCHES = ('auto', 'none', 'percentile', 'minmax')
STATS_SIDE = 1024  # long side of the decimated read the stretch statistics come from
GDAL_CACHE_MB = 64  # GDAL's block cache (its default is 5 % of the RAM)


class SceneError(ValueError):
    """Bad scene input, with a one-line message naming the file or value."""


def _rasterio():
    try:
        import rasterio
    except ImportError as err:  # pragma: no cover - install.sh installs it
        raise SceneError('scene inference needs rasterio: bash tools/install.sh') from err
    return rasterio


class SceneRaster:
    """One raster file (GeoTIFF, or a plain PNG/JPEG/TIFF without a CRS) opened for reads.

    Args:
        path (str): the raster.
        bands (Sequence[int], optional): three 1-based band indices read as R, G, B; default
            the bands tagged red/green/blue, else bands 1-3 of a 3- or 4-band (RGBA) file.
            A single band is used as grey with ``bands=(1, 1, 1)``.
        stretch (str): ``'none'`` (8-bit bands as stored), ``'percentile'`` (per band, the
            ``percentiles`` of the valid pixels map to 0 and 255), ``'minmax'`` (valid min/max
            map to 0 and 255) or ``'auto'`` (none for uint8, else percentile). The statistics
            come from one decimated read of the whole region (long side ``STATS_SIDE``),
            nodata excluded, and every read uses the same mapping.
        percentiles (tuple[float, float]): low/high percentiles of ``'percentile'``.
        window (Sequence[int], optional): ``(col, row, width, height)``: a region of the file
            to search in (pixels); default the whole file.
        opener (callable, optional): passed to ``rasterio.open`` (e.g. to count the bytes read,
            tools/analysis_tools/benchmark_scene.py).

    Attributes:
        width, height (int): size of the region in native pixels.
        crs: the file's ``rasterio`` CRS, or None (pixel coordinates).
    """

    def __init__(self, path: str, bands: Optional[Sequence[int]] = None, stretch: str = 'auto',
                 percentiles: Tuple[float, float] = (2.0, 98.0),
                 window: Optional[Sequence[int]] = None, opener=None) -> None:
        rasterio = _rasterio()
        self.path = path
        if not osp.isfile(path):
            raise SceneError(f'scene {path} does not exist')
        if stretch not in STRETCHES:
            raise SceneError(f'unknown stretch {stretch!r} (choose from {", ".join(STRETCHES)})')
        lo, hi = (float(p) for p in percentiles)
        if not 0 <= lo < hi <= 100:
            raise SceneError(f'percentiles must satisfy 0 <= low < high <= 100, got {lo}, {hi}')
        self.percentiles = (lo, hi)
        try:
            with self._env(), warnings.catch_warnings():
                warnings.simplefilter('ignore', rasterio.errors.NotGeoreferencedWarning)
                self.ds = rasterio.open(path, opener=opener)
        except rasterio.errors.RasterioIOError as err:
            raise SceneError(f'{path} is not a raster GDAL can read '
                             f'({" ".join(str(err).split())})') from err
        try:
            self._setup(bands, stretch, window)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _env():
        """GDAL settings of every call (inside a rasterio Env GDAL's messages go to Python's
        logging instead of stderr; the exceptions carry them)."""
        return _rasterio().Env(GDAL_CACHEMAX=GDAL_CACHE_MB * 2**20)

    def _setup(self, bands, stretch, window) -> None:
        ds, path = self.ds, self.path
        self.crs = ds.crs
        self.transform = ds.transform
        if self.crs is None:
            print_log(f'{path} has no CRS: polygons are written in pixel coordinates '
                      '(x right, y down)', logger='current', level=30)
        self.bands = self._choose_bands(bands)
        col, row, width, height = self._region(window)
        self.col_off, self.row_off, self.width, self.height = col, row, width, height
        self.dtype = np.dtype(ds.dtypes[self.bands[0] - 1])
        if len({ds.dtypes[b - 1] for b in self.bands}) != 1:
            raise SceneError(f'{path}: bands {self.bands} have different data types')
        self.stretch = stretch if stretch != 'auto' else (
            'none' if self.dtype == np.uint8 else 'percentile')
        if self.stretch == 'none' and self.dtype != np.uint8:
            raise SceneError(f'{path}: --stretch none needs 8-bit bands, these are {self.dtype} '
                             '(use percentile or minmax)')
        self.lows, self.highs = self._statistics()
        print_log(self.describe(), logger='current')

    # -- set-up --------------------------------------------------------------------------------
    def _choose_bands(self, bands) -> Tuple[int, int, int]:
        ds, count = self.ds, self.ds.count
        if bands is not None:
            bands = tuple(int(b) for b in bands)
            if len(bands) != 3 or not all(1 <= b <= count for b in bands):
                raise SceneError(f'--bands {",".join(map(str, bands))} does not select 3 of the '
                                 f'{count} band(s) of {self.path} (1-based)')
            return bands
        names = [c.name for c in ds.colorinterp]
        if all(n in names for n in ('red', 'green', 'blue')):
            return tuple(names.index(n) + 1 for n in ('red', 'green', 'blue'))
        if count == 3 or (count == 4 and names[3] == 'alpha'):
            return (1, 2, 3)
        raise SceneError(f'{self.path} has {count} band(s) ({", ".join(names)}): choose 3 with '
                         '--bands (e.g. --bands 1,1,1 for grey)')

    def _region(self, window) -> Tuple[int, int, int, int]:
        w, h = self.ds.width, self.ds.height
        if window is None:
            return 0, 0, w, h
        col, row, width, height = (int(v) for v in window)
        if width <= 0 or height <= 0 or col < 0 or row < 0 or col + width > w or \
                row + height > h:
            raise SceneError(f'window (col {col}, row {row}, width {width}, height {height}) '
                             f'lies outside {self.path} ({w} x {h} pixels)')
        return col, row, width, height

    def _read(self, box, out_hw, resampling: str = 'bilinear') -> np.ma.MaskedArray:
        """The selected bands of ``box`` (xyxy, region pixels, may be fractional) resampled to
        ``out_hw``: a masked (3, h, w) array (mask = nodata)."""
        rasterio = _rasterio()
        from rasterio.enums import Resampling
        from rasterio.windows import Window
        x1, y1, x2, y2 = (float(v) for v in box)
        win = Window(self.col_off + x1, self.row_off + y1, x2 - x1, y2 - y1)
        try:
            with self._env():
                return self.ds.read(self.bands, window=win,
                                    out_shape=(3, int(out_hw[0]), int(out_hw[1])),
                                    resampling=getattr(Resampling, resampling), masked=True)
        except rasterio.errors.RasterioError as err:
            cause = err.__cause__ or err.__context__ or err
            raise SceneError(f'cannot read window {[round(v, 1) for v in (x1, y1, x2, y2)]} of '
                             f'{self.path} ({" ".join(str(cause).split())[:200]})') from err

    def _statistics(self) -> Tuple[np.ndarray, np.ndarray]:
        """Per band low/high values of the stretch, from one decimated read (nodata excluded)."""
        scale = min(1.0, STATS_SIDE / max(self.width, self.height))
        hw = (max(1, round(self.height * scale)), max(1, round(self.width * scale)))
        data = self._read((0, 0, self.width, self.height), hw, 'nearest')
        valid = ~np.ma.getmaskarray(data).any(0)
        if not valid.any():
            raise SceneError(f'{self.path}: every pixel of the scene is nodata')
        if self.stretch == 'none':
            return np.zeros(3), np.full(3, 255.0)
        values = [np.asarray(band)[valid].astype(np.float64) for band in data]
        if self.stretch == 'minmax':
            lows = np.array([v.min() for v in values])
            highs = np.array([v.max() for v in values])
        else:
            lows = np.array([np.percentile(v, self.percentiles[0]) for v in values])
            highs = np.array([np.percentile(v, self.percentiles[1]) for v in values])
        return lows, np.maximum(highs, lows + 1e-6)

    def describe(self) -> str:
        """One line: the file, its size, the region, the bands and the stretch in force."""
        region = '' if (self.width, self.height) == (self.ds.width, self.ds.height) else \
            f', window col {self.col_off} row {self.row_off} {self.width} x {self.height}'
        if self.stretch == 'none':
            how = f'no stretch ({self.dtype})'
        else:
            name = self.stretch if self.stretch == 'minmax' else \
                f'percentile {self.percentiles[0]:g}-{self.percentiles[1]:g}'
            how = f'{name} stretch of {self.dtype}: ' + ', '.join(
                f'band {b} [{lo:.6g}, {hi:.6g}] -> [0, 255]'
                for b, lo, hi in zip(self.bands, self.lows, self.highs))
        return (f'{self.path}: {self.ds.width} x {self.ds.height} px, {self.ds.count} band(s), '
                f'CRS {self.crs.to_string() if self.crs else "none"}{region}; RGB = bands '
                f'{self.bands}, {how}; nodata -> 0')

    # -- reads ---------------------------------------------------------------------------------
    def read(self, box, out_hw, resampling: str = 'bilinear') -> np.ndarray:
        """``box`` (xyxy in region pixels) resampled to ``out_hw``: (h, w, 3) uint8 RGB,
        stretched, nodata pixels 0."""
        data = self._read(box, out_hw, resampling)
        invalid = np.ma.getmaskarray(data).any(0)
        values = np.asarray(data.data, np.float32)
        if self.stretch != 'none':
            lo = self.lows.astype(np.float32)[:, None, None]
            hi = self.highs.astype(np.float32)[:, None, None]
            values = (values - lo) * (255.0 / (hi - lo))
        rgb = np.clip(np.rint(values), 0, 255).astype(np.uint8)
        rgb[:, invalid] = 0
        return np.ascontiguousarray(rgb.transpose(1, 2, 0))

    def overview(self, out_hw) -> np.ndarray:
        """The whole region at ``out_hw`` (h, w, 3) uint8 RGB (averaged, from overviews)."""
        return self.read((0, 0, self.width, self.height), out_hw, 'average')

    # -- coordinates ---------------------------------------------------------------------------
    def to_file_pixels(self, xy: np.ndarray) -> np.ndarray:
        """Region pixels (N, 2) -> file pixels (N, 2) (continuous: pixel (r, c) covers
        [c, c + 1] x [r, r + 1])."""
        return np.asarray(xy, np.float64) + np.array([self.col_off, self.row_off], np.float64)

    def pixels_to_map(self, xy: np.ndarray) -> np.ndarray:
        """File pixels (N, 2) -> the raster's map coordinates (N, 2) by its affine transform
        (pixel coordinates themselves when the file has no georeferencing)."""
        t = self.transform
        xy = np.asarray(xy, np.float64).reshape(-1, 2)
        return np.stack([t.a * xy[:, 0] + t.b * xy[:, 1] + t.c,
                         t.d * xy[:, 0] + t.e * xy[:, 1] + t.f], axis=1)

    @property
    def pixel_size(self) -> float:
        """Side of one native pixel in map units (1 without a CRS)."""
        t = self.transform
        return math.sqrt(abs(t.a * t.e - t.b * t.d))

    def close(self) -> None:
        with self._env():
            self.ds.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
