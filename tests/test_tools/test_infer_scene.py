"""tools/infer_scene.py: a GeoTIFF and sentences in, a GeoJSON (and a drawing) out; bad input
gives one line, exit status 1 and nothing at --out."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import mmcv
import numpy as np
import pytest
from tool_runner import REPO, run_tool

sys.path.insert(0, osp.join(REPO, 'tests', 'test_apis'))
from geotiff_builders import PIXEL, scene_with_rectangle, write_geotiff  # noqa: E402


def _tool():
    spec = importlib.util.spec_from_file_location('infer_scene',
                                                  osp.join(REPO, 'tools', 'infer_scene.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_writes_wgs84_geojson_and_overview_drawing(trained_tiny_synthetic, tmp_path):
    root, cfg, work, _ = trained_tiny_synthetic
    scene = write_geotiff(tmp_path / 'scene.tif', scene_with_rectangle(1024, (400, 300, 460, 340)))
    texts = tmp_path / 'queries.txt'
    texts.write_text('the white building\n\nthe small vehicle\nthe tank on the left\n')
    out, vis = tmp_path / 'result.geojson', tmp_path / 'result.png'
    log = run_tool(['tools/infer_scene.py', scene, str(texts), str(cfg),
                    str(work / 'epoch_1.pth'), '--out', str(out), '--wgs84', '--vis', str(vis),
                    '--batch-size', '2'], cwd=root)
    assert 'wrote 3 feature(s)' in log and 'no stretch (uint8)' in log
    with open(out) as f:
        fc = json.load(f)
    assert fc['type'] == 'FeatureCollection' and 'crs' not in fc
    assert [f['properties']['expression'] for f in fc['features']] == [
        'the white building', 'the small vehicle', 'the tank on the left']
    for feat in fc['features']:
        p = feat['properties']
        assert p['passes'] >= 2 and len(p['windows']) == p['passes']
        geom = feat['geometry']
        assert geom is None or geom['type'] in ('Polygon', 'MultiPolygon')
        if geom is not None:
            polys = [geom['coordinates']] if geom['type'] == 'Polygon' else geom['coordinates']
            lonlat = np.concatenate([np.asarray(ring) for poly in polys for ring in poly])
            # inside the scene: 512 m east and south of (15 E, 37.046 N)
            assert (lonlat[:, 0] > 14.9999).all() and (lonlat[:, 0] < 15.0059).all()
            assert (lonlat[:, 1] < 37.0463).all() and (lonlat[:, 1] > 37.0415).all()
            assert len(p['oriented_box_wgs84']) == 4 and p['area_units'] == 'metre^2'
            assert p['area'] <= (1024 * PIXEL) ** 2
    drawing = mmcv.imread(str(vis))  # the overview, then a row of window panels
    passes = fc['features'][0]['properties']['passes']
    assert drawing.shape == (1024 + 1024 // max(3, passes), 1024, 3)
    assert not [n for n in os.listdir(tmp_path) if n.endswith('.tmp')]


def test_bad_inputs_give_one_line_and_leave_nothing_at_out(trained_tiny_synthetic, tmp_path):
    root, cfg, work, _ = trained_tiny_synthetic
    ckpt = str(work / 'epoch_1.pth')
    tool = _tool()
    good = write_geotiff(tmp_path / 'good.tif', scene_with_rectangle(256, (10, 10, 50, 50)))
    notes = tmp_path / 'notes.tif'
    notes.write_text('not a raster')
    noise = np.random.default_rng(0).integers(0, 256, (3, 512, 512)).astype(np.uint8)
    data = open(write_geotiff(tmp_path / 'noise.tif', noise, overviews=()), 'rb').read()
    cut = tmp_path / 'cut.tif'
    cut.write_bytes(data[:len(data) // 2])
    empty = write_geotiff(tmp_path / 'empty.tif', np.zeros((3, 64, 64), np.uint8), nodata=0)
    five = write_geotiff(tmp_path / 'five.tif', np.ones((5, 64, 64), np.uint16))
    png = tmp_path / 'plain.png'
    mmcv.imwrite(np.full((32, 32, 3), 9, np.uint8), str(png))
    blank = tmp_path / 'blank.txt'
    blank.write_text('\n  \n')
    out = tmp_path / 'out.geojson'
    cases = {
        'not a raster': ([str(notes), 'the roof'], [], 'notes.tif is not a raster'),
        'truncated': ([str(cut), 'the roof'], [], 'cannot read window .* of .*cut.tif'),
        'window outside': ([good, 'the roof'], ['--window', '200', '0', '100', '100'],
                           'lies outside .*good.tif'),
        'all nodata': ([empty, 'the roof'], [], 'every pixel of the scene is nodata'),
        'no 3 bands': ([five, 'the roof'], [], 'has 5 band.*choose 3 with --bands'),
        'bad --bands': ([good, 'the roof'], ['--bands', '1,2'], 'does not select 3'),
        'empty expression': ([good, '   '], [], 'expression is empty'),
        'empty expression file': ([good, str(blank)], [], 'blank.txt holds no expression'),
        'missing expression file': ([good, 'queries.txt'], [], 'queries.txt does not exist'),
        'output dir missing': ([good, 'the roof'], ['--out', str(tmp_path / 'no' / 'o.json')],
                               'cannot write .*directory .*no does not exist'),
        'output is a dir': ([good, 'the roof'], ['--out', str(tmp_path)], 'is a directory'),
        'wgs84 without crs': ([str(png), 'the roof'], ['--wgs84'], 'no CRS'),
        'missing scene': ([str(tmp_path / 'nope.tif'), 'the roof'], [], 'nope.tif does not'),
    }
    for what, (head, extra, message) in cases.items():
        argv = head + [str(cfg), ckpt, '--out', str(out)] + extra
        with pytest.raises(SystemExit) as info:
            tool.main(argv)
        msg = str(info.value.code)
        assert msg.startswith('error: ') and '\n' not in msg, (what, msg)
        assert __import__('re').search(message, msg), (what, msg)
        assert not out.exists(), what
    # the real process: exit status 1, the message is the last line of stderr
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'infer_scene.py'),
                           str(cut), 'the roof', str(cfg), ckpt, '--out', str(out)],
                          capture_output=True, text=True, timeout=300)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 1 and lines[-1].startswith('error: cannot read window')
    assert not [ln for ln in lines if ln.startswith('ERROR')]  # no raw GDAL messages
    assert not out.exists() and not [n for n in os.listdir(tmp_path) if n.endswith('.tmp')]


def test_a_failed_write_leaves_nothing(tmp_path):
    from recs4r_mm.apis.geojson import write_json_atomic
    out = tmp_path / 'o.geojson'
    with pytest.raises(ValueError):
        write_json_atomic({'area': float('nan')}, str(out))  # not valid JSON: refused
    assert os.listdir(tmp_path) == []
    write_json_atomic({'a': 1}, str(out))
    assert json.loads(out.read_text()) == {'a': 1}


def test_benchmark_reports_time_memory_and_bytes_read(tmp_path):
    """tools/analysis_tools/benchmark_scene.py on a small generated scene (the real figures
    are for 20000 px: docs/scene_inference.md)."""
    out = tmp_path / 'bench.json'
    log = run_tool(['tools/analysis_tools/benchmark_scene.py',
                    osp.join(REPO, 'configs', 'recs4r_tiny_synthetic.py'), '--size', '1500',
                    '--work-dir', str(tmp_path), '--threads', '1', '--out', str(out)],
                   cwd=str(tmp_path))
    assert 'peak RSS' in log and 'read from the file' in log
    res = json.loads(out.read_text())
    assert res['weights'].startswith('random') and res['passes'] >= 1
    assert 0 < res['file_bytes_read'] < res['scene']['file_bytes']
    assert res['peak_rss_mb'] >= res['peak_rss_after_model_mb'] > 100
    assert res['subprocess_s'] >= res['process_s'] >= res['scene_s'] > 0
    assert os.listdir(tmp_path) == ['bench.json']  # the generated scene is gone
