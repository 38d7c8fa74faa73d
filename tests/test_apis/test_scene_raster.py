"""SceneRaster: band choice, stretch, nodata, windowed reads and the pixel -> map transform."""
import numpy as np
import pytest
from geotiff_builders import ORIGIN, PIXEL, scene_with_rectangle, write_geotiff

from recs4r_mm.apis import SceneError, SceneRaster


def test_reads_windows_resampled_and_maps_pixels_to_utm(tmp_path):
    path = write_geotiff(tmp_path / 's.tif', scene_with_rectangle(512, (100, 200, 140, 220)))
    with SceneRaster(path) as scene:
        assert (scene.width, scene.height, scene.bands, scene.stretch) == (512, 512, (1, 2, 3),
                                                                           'none')
        assert scene.crs.to_epsg() == 32633 and scene.pixel_size == pytest.approx(PIXEL)
        win = scene.read((100, 200, 140, 220), (20, 40))  # exactly the rectangle, native
        assert win.shape == (20, 40, 3) and win.dtype == np.uint8 and (win == 250).all()
        out = scene.read((90, 190, 150, 230), (40, 60))  # 10 px of background around it
        assert (out[:10] == 60).all() and (out[10:30, 10:50] == 250).all()
        assert scene.overview((64, 64)).shape == (64, 64, 3)
        xy = scene.pixels_to_map(np.array([[0, 0], [100, 200], [512, 512]]))
        assert xy == pytest.approx(np.array([ORIGIN, (ORIGIN[0] + 50, ORIGIN[1] - 100),
                                             (ORIGIN[0] + 256, ORIGIN[1] - 256)]))


def test_window_region_offsets_reads_and_coordinates(tmp_path):
    path = write_geotiff(tmp_path / 's.tif', scene_with_rectangle(512, (100, 200, 140, 220)))
    with SceneRaster(path, window=(64, 128, 256, 128)) as scene:
        assert (scene.width, scene.height) == (256, 128)
        # region pixel (36, 72) is file pixel (100, 200): the rectangle's corner
        assert (scene.read((36, 72, 76, 92), (20, 40)) == 250).all()
        assert scene.to_file_pixels([[36, 72]]).tolist() == [[100, 200]]


def test_uint16_percentile_and_minmax_stretch_exclude_nodata(tmp_path):
    rng = np.random.default_rng(0)
    bands = rng.integers(1000, 3001, size=(4, 256, 256)).astype(np.uint16)
    bands[:, :, :64] = 0  # nodata strip: must not enter the statistics
    path = write_geotiff(tmp_path / 'ms.tif', bands, nodata=0)
    with pytest.raises(SceneError, match='4 band'):
        SceneRaster(path)
    with SceneRaster(path, bands=(4, 3, 2), stretch='minmax') as scene:
        assert scene.bands == (4, 3, 2)
        assert scene.lows == pytest.approx([1000] * 3) and scene.highs == pytest.approx([3000] * 3)
        rgb = scene.read((0, 0, 256, 256), (256, 256), 'nearest')
        assert (rgb[:, :64] == 0).all()  # nodata -> 0
        expect = np.rint((bands[3, :, 64:].astype(float) - 1000) * 255 / 2000)
        assert np.abs(rgb[:, 64:, 0] - expect).max() <= 1
    with SceneRaster(path, bands=(1, 1, 1)) as scene:  # auto -> percentile 2-98 for uint16
        assert scene.stretch == 'percentile'
        assert scene.lows[0] == pytest.approx(1040, abs=15)
        assert scene.highs[0] == pytest.approx(2960, abs=15)
        assert 'percentile 2-98 stretch of uint16' in scene.describe()
    with pytest.raises(SceneError, match='8-bit'):
        SceneRaster(path, bands=(1, 2, 3), stretch='none')


def test_colour_tagged_and_rgba_bands(tmp_path):
    from rasterio.enums import ColorInterp as C
    bands = np.stack([np.full((64, 64), v, np.uint8) for v in (10, 20, 30, 255)])
    path = write_geotiff(tmp_path / 'bgra.tif', bands,
                         colorinterp=[C.blue, C.green, C.red, C.alpha])
    with SceneRaster(path) as scene:
        assert scene.bands == (3, 2, 1)
        assert scene.read((0, 0, 64, 64), (8, 8))[0, 0].tolist() == [30, 20, 10]
    plain = write_geotiff(tmp_path / 'rgba.tif', bands, crs=None, overviews=())
    with SceneRaster(plain) as scene:
        assert scene.bands == (1, 2, 3) and scene.crs is None


def test_bad_scenes_raise_one_line_errors_naming_the_file(tmp_path):
    good = write_geotiff(tmp_path / 'good.tif', scene_with_rectangle(512, (10, 10, 20, 20)))
    cases = []
    text = tmp_path / 'notes.tif'
    text.write_text('not a raster')
    cases.append((dict(path=str(text)), 'notes.tif is not a raster'))
    noise = np.random.default_rng(0).integers(0, 256, (3, 512, 512)).astype(np.uint8)
    data = open(write_geotiff(tmp_path / 'noise.tif', noise, overviews=()), 'rb').read()
    trunc = tmp_path / 'cut.tif'
    trunc.write_bytes(data[:len(data) // 2])
    cases.append((dict(path=str(trunc)), 'cannot read window .* of .*cut.tif'))
    cases.append((dict(path=good, window=(400, 0, 200, 100)), 'lies outside .*good.tif'))
    cases.append((dict(path=good, bands=(1, 2)), 'does not select 3 of the 3 band'))
    cases.append((dict(path=good, bands=(1, 2, 9)), 'does not select 3'))
    cases.append((dict(path=str(tmp_path / 'missing.tif')), 'missing.tif does not exist'))
    empty = write_geotiff(tmp_path / 'empty.tif', np.zeros((3, 128, 128), np.uint8), nodata=0)
    cases.append((dict(path=empty), 'empty.tif: every pixel of the scene is nodata'))
    cases.append((dict(path=good, stretch='gamma'), 'unknown stretch'))
    for kwargs, message in cases:
        with pytest.raises(SceneError, match=message) as info:
            SceneRaster(**kwargs)
        assert '\n' not in str(info.value)
