"""SceneInferencer: the coordinate chain (window read -> pixels -> map CRS -> WGS84) with a stub
decoder whose output we control, and the real path with the tiny trained checkpoint."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from geotiff_builders import ORIGIN, PIXEL, pixel_to_map, scene_with_rectangle, write_geotiff
from script_loader import load_script

from recs4r_mm.apis import SceneInferencer, SceneRaster
from recs4r_mm.apis.geojson import feature_collection, write_json_atomic
from recs4r_mm.structures import (TOKEN_COORD, TOKEN_END, TOKEN_OBJ, TOKEN_START, mask_to_polygons,
                                  pad_sequences)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RECT = (1000, 700, 1036, 720)  # the known object: file pixels col0, row0, col1, row1


def _outline_bright_pixels(rgb: np.ndarray):
    """STUB DECODER for the coordinate-chain test only: the exact pixel-edge outline of the
    bright pixels of the image it is shown (h, w, 3), as a (tokens, coords) sequence
    normalised by that image."""
    grey = rgb.astype(float).mean(-1)
    mask = grey > (grey.min() + grey.max()) / 2
    outer = max(mask_to_polygons(mask, with_holes=False, mode='edge'),
                key=lambda p: len(p['outer']))['outer']
    n = len(outer)
    tokens = torch.tensor([TOKEN_START] + [TOKEN_COORD] * n + [TOKEN_END])
    coords = torch.zeros(n + 2, 2)
    coords[1:-1] = torch.from_numpy(outer / [rgb.shape[1], rgb.shape[0]]).float()
    return tokens, coords


class StubOutlineDecoder:
    """Replaces SceneInferencer's two model calls (coarse pass, fine pass) by
    :func:`_outline_bright_pixels` on the overview and on the windows read from the file, so
    that everything else (overview/window reads, crop <-> scene frames, the pyramid rule,
    the coder's decode, file pixels -> map -> WGS84) runs as in production."""

    def __init__(self, infer: SceneInferencer):
        self.infer = infer
        self.reads = []

    def coarse(self, overview, texts):
        b = len(texts)
        tokens, coords = _outline_bright_pixels(overview)
        box = self.infer.model.coder.rect(tokens[None], coords[None])
        states = (torch.zeros(b, 1, 1), torch.zeros(b, 1, dtype=torch.bool))
        return torch.zeros(b, 1, 1, 1), box.expand(b, 4), list(texts), states, \
            overview.shape[:2], torch.zeros(b, dtype=torch.bool)

    def fine(self, scene, texts, vis, src, crops, to_input, coarse_text):
        s = self.infer.fine_size
        seqs = [_outline_bright_pixels(scene.read(c.tolist(), (s, s))) for c in crops]
        self.reads.extend(c.tolist() for c in crops)
        t = max(len(tok) for tok, _ in seqs)
        tokens = torch.full((len(seqs), t), -1, dtype=torch.long)
        coords = torch.zeros(len(seqs), t, 2)
        for i, (tok, xy) in enumerate(seqs):
            tokens[i, :len(tok)], coords[i, :len(tok)] = tok, xy
        return dict(tokens=tokens, coords=coords, scores=torch.ones(len(seqs)))


@pytest.fixture(scope='module')
def stubbed():
    infer = SceneInferencer(osp.join(REPO, 'configs', '_tiny_', 'recs4r_tiny.py'), device='cpu')
    stub = StubOutlineDecoder(infer)
    infer._coarse, infer._fine = stub.coarse, stub.fine
    return infer, stub


def _hausdorff(a: np.ndarray, b_poly) -> float:
    from shapely.geometry import Polygon
    return Polygon(a).hausdorff_distance(b_poly)


@pytest.mark.parametrize('window', [None, (512, 256, 1024, 1024)])
def test_known_object_lands_within_one_pixel_in_map_and_wgs84(stubbed, tmp_path, window):
    from rasterio.warp import transform
    from shapely.geometry import Polygon, shape
    infer, stub = stubbed
    path = write_geotiff(tmp_path / 'scene.tif', scene_with_rectangle(2048, RECT))
    stub.reads.clear()
    with SceneRaster(path, window=window) as scene:
        (pred, ) = infer(scene, ['the bright roof'])
        crs_fc = feature_collection([pred], scene)
        wgs_fc = feature_collection([pred], scene, wgs84=True)
        write_json_atomic(crs_fc, str(tmp_path / 'out.geojson'))
    # a pyramid: a coarse 64 px overview of the region (32x or 16x), a first window of at
    # least min_size=8 overview px, then one around its contour at native resolution
    assert pred['passes'] == 2 and pred['resolution'] <= 1.0
    sides = [max(w[2] - w[0], w[3] - w[1]) for w in pred['windows']]
    region = window[2] if window else 2048
    assert sides[0] >= 8 * region / 64 and sides[1] <= 64 < sides[0]
    c0, r0, c1, r1 = RECT
    assert pred['bbox'] == pytest.approx([c0, r0, c1, r1], abs=1.0)
    # map coordinates (UTM 33N): within one native pixel of the known rectangle
    xs, ys = pixel_to_map([c0, c1, c1, c0], [r0, r0, r1, r1])
    truth = Polygon(np.stack([xs, ys], 1))
    with open(tmp_path / 'out.geojson') as f:
        written = json.load(f)
    assert written['crs']['properties']['name'] == 'urn:ogc:def:crs:EPSG::32633'
    geom = shape(written['features'][0]['geometry'])
    assert geom.is_valid and geom.hausdorff_distance(truth) <= PIXEL
    assert geom.exterior.is_ccw  # RFC 7946 winding
    props = written['features'][0]['properties']
    assert props['area'] == pytest.approx(36 * 20 * PIXEL ** 2, rel=0.1)
    assert props['area_units'] == 'metre^2' and props['passes'] == 2
    ob = props['oriented_box']  # in metres, axis-aligned
    assert (ob['width'], ob['height']) == pytest.approx((36 * PIXEL, 20 * PIXEL), abs=PIXEL)
    assert ob['angle'] == pytest.approx(0, abs=1)
    pob = props['pixel_oriented_box']
    assert (pob['width'], pob['height']) == pytest.approx((36, 20), abs=1)
    # WGS84: lon/lat order, within one native pixel (0.5 m) of the known corners
    assert 'crs' not in wgs_fc
    lon, lat = transform('EPSG:32633', 'EPSG:4326', list(xs), list(ys))
    assert 14.99 < min(lon) < 15.01 and 37.03 < min(lat) < 37.05  # near (15 E, 37.05 N)
    g = shape(wgs_fc['features'][0]['geometry'])
    metres = np.array([111320 * np.cos(np.radians(37.04)), 110950])
    got = np.asarray(g.exterior.coords) * metres
    assert _hausdorff(got, Polygon(np.stack([lon, lat], 1) * metres)) <= PIXEL
    assert len(wgs_fc['features'][0]['properties']['oriented_box_wgs84']) == 4
    # never a native read of the scene: every window was read at the fine input size
    assert all(r[2] <= 2048 and r[3] <= 2048 for r in stub.reads)


def test_pixel_png_without_crs_gives_pixel_coordinates(stubbed, tmp_path):
    import mmcv
    infer, _ = stubbed
    img = scene_with_rectangle(300, (100, 120, 130, 140)).transpose(1, 2, 0)
    path = str(tmp_path / 'plain.png')
    mmcv.imwrite(img, path)
    with SceneRaster(path) as scene:
        assert scene.crs is None
        (pred, ) = infer(scene, ['the roof'])
        fc = feature_collection([pred], scene)
    assert 'crs' not in fc and fc['recs4r']['coordinates'] == 'pixel'
    xy = np.asarray(fc['features'][0]['geometry']['coordinates'][0])
    assert xy.min(0) == pytest.approx([100, 120], abs=1)
    assert xy.max(0) == pytest.approx([130, 140], abs=1)


def test_empty_expression_is_refused(stubbed, tmp_path):
    from recs4r_mm.apis import SceneError
    infer, _ = stubbed
    path = write_geotiff(tmp_path / 's.tif', scene_with_rectangle(256, (10, 10, 40, 40)))
    with SceneRaster(path) as scene, pytest.raises(SceneError, match='empty referring'):
        infer(scene, ['the roof', '  '])


def test_trained_checkpoint_on_a_big_scene_uses_several_fine_passes(trained_tiny_synthetic,
                                                                    tmp_path):
    """The real model end to end on a 4096 px scene (32x the 128 px input of the test config),
    with one configured fine pass: the pyramid adds passes."""
    from mmengine.config import Config
    from shapely.geometry import box as shapely_box
    from shapely.geometry import shape
    root, cfg, work, _ = trained_tiny_synthetic
    config = Config.fromfile(str(cfg))
    config.model.refine.test_passes = 1
    infer = SceneInferencer(config, str(work / 'epoch_1.pth'), device='cpu')
    rng = np.random.default_rng(0)
    bands = np.full((3, 4096, 4096), 90, np.uint8)
    for _ in range(12):  # a few bright and dark buildings
        c, r = rng.integers(0, 4000, 2)
        bands[:, r:r + rng.integers(20, 90), c:c + rng.integers(20, 90)] = rng.integers(0, 256)
    path = write_geotiff(tmp_path / 'big.tif', bands)
    reads = []
    with SceneRaster(path) as scene:
        read = scene.read
        scene.read = lambda box, hw, *a: reads.append(tuple(hw)) or read(box, hw, *a)
        preds = infer(scene, ['the large building', 'the small red vehicle', 'a tank'],
                      batch_size=2)
        fc = feature_collection(preds, scene, wgs84=False)
    assert [p['text'] for p in preds] == ['the large building', 'the small red vehicle',
                                          'a tank']
    assert max(p['passes'] for p in preds) > 1
    assert reads[0] == infer.input_hw(4096, 4096) == (128, 128)  # the config's input size
    assert set(reads[1:]) == {(64, 64)}  # every window at the fine input size
    bounds = shapely_box(ORIGIN[0], ORIGIN[1] - 4096 * PIXEL, ORIGIN[0] + 4096 * PIXEL,
                         ORIGIN[1])
    json.loads(json.dumps(fc))  # plain JSON
    for feat, pred in zip(fc['features'], preds):
        assert 0 <= pred['score'] <= 1 and feat['properties']['passes'] == pred['passes']
        for x1, y1, x2, y2 in pred['windows']:
            assert 0 <= x1 < x2 <= 4096 and 0 <= y1 < y2 <= 4096
        if feat['geometry'] is not None:
            geom = shape(feat['geometry'])
            assert geom.is_valid and bounds.buffer(1e-6).contains(geom)


# -- generalized answers and --score-thr -------------------------------------------------------
def _outline_every_object(rgb: np.ndarray):
    """STUB DECODER (generalized): every bright component's pixel-edge outline, OBJ-separated,
    normalised by the image (h, w, 3); START, END when nothing is bright."""
    grey = rgb.astype(float).mean(-1)
    mask = grey > (grey.min() + grey.max()) / 2 if grey.max() > grey.min() else grey < 0
    tokens, coords = [TOKEN_START], [[0.0, 0.0]]
    for k, part in enumerate(mask_to_polygons(mask, with_holes=False, mode='edge')):
        if k:
            tokens.append(TOKEN_OBJ)
            coords.append([0.0, 0.0])
        tokens += [TOKEN_COORD] * len(part['outer'])
        coords += (part['outer'] / [rgb.shape[1], rgb.shape[0]]).tolist()
    return np.array(tokens + [TOKEN_END]), np.array(coords + [[0.0, 0.0]], np.float32)


NOTHING = (np.array([TOKEN_START, TOKEN_END]), np.zeros((2, 2), np.float32))  # "no target"


class GeneralizedStub:
    """Coarse and fine passes of a generalized model: ``answers[text]`` is ``'none'`` (the
    coarse pass says START, END), ``'late'`` (the coarse pass finds the objects, the first fine
    pass says START, END) or a score for the objects' outlines."""

    def __init__(self, infer, answers):
        self.infer, self.answers = infer, answers

    def coarse(self, overview, texts):
        b = len(texts)
        tokens, coords = pad_sequences([NOTHING if self.answers[t] == 'none' else
                                        _outline_every_object(overview) for t in texts])
        box = self.infer.model.coder.rect(tokens, coords)  # the whole overview for NOTHING
        states = (torch.zeros(b, 1, 1), torch.zeros(b, 1, dtype=torch.bool))
        empty = torch.tensor([self.answers[t] == 'none' for t in texts])
        return torch.zeros(b, 1, 1, 1), box, list(texts), states, overview.shape[:2], empty

    def fine(self, scene, texts, vis, src, crops, to_input, coarse_text):
        s = self.infer.fine_size
        seqs = [_outline_every_object(scene.read(c.tolist(), (s, s))) for c in crops]
        seqs = [NOTHING if self.answers[t] in ('none', 'late') else q
                for t, q in zip(texts, seqs)]
        tokens, coords = pad_sequences(seqs)
        scores = [0.9 if isinstance(self.answers[t], str) else self.answers[t] for t in texts]
        return dict(tokens=tokens, coords=coords, scores=torch.tensor(scores))


@pytest.fixture
def generalized(stubbed, monkeypatch):
    """The stubbed scene inferencer as a generalized model whose answers a test sets."""
    infer, _ = stubbed
    answers = {}
    stub = GeneralizedStub(infer, answers)
    monkeypatch.setattr(infer.model, 'generalized', True)
    monkeypatch.setattr(infer, '_coarse', stub.coarse)
    monkeypatch.setattr(infer, '_fine', stub.fine)
    return infer, answers


def _two_roofs(path):
    bands = scene_with_rectangle(512, (100, 120, 140, 150))
    bands[:, 300:340, 350:400] = 250  # a second bright roof
    return write_geotiff(path, bands)


def test_generalized_no_target_gives_no_feature_and_objects_give_their_union(generalized,
                                                                             tmp_path):
    from shapely.geometry import shape
    infer, answers = generalized
    answers.update({'the ship': 'none', 'the car': 'late', 'the roofs': 0.8})
    with SceneRaster(_two_roofs(tmp_path / 's.tif')) as scene:
        preds = infer(scene, ['the ship', 'the roofs', 'the car'])
        fc = feature_collection(preds, scene)
        empty = feature_collection([p for p in preds if p['no_target']], scene)
    ship, roofs, car = preds
    for p in (ship, car):  # no polygon, no box, one fine pass (none after "no target")
        assert p['no_target'] and p['polygons'] == [] and p['bbox'] is None
        assert p['oriented_box'] is None and p['passes'] == 1
    assert not roofs['no_target'] and roofs['score'] == pytest.approx(0.8)
    # the two objects' union, in file px (pixel-edge outlines: exact)
    # (one fine pass: the window holding both is read at ~6 native px per fine-input px)
    assert roofs['resolution'] > 1 and roofs['passes'] == 1
    assert roofs['bbox'] == pytest.approx([100, 120, 400, 340], abs=roofs['resolution'])
    (feat, ) = fc['features']
    assert feat['properties']['expression'] == 'the roofs'
    geom = shape(feat['geometry'])
    assert geom.geom_type == 'MultiPolygon' and len(geom.geoms) == 2
    assert geom.area == pytest.approx((40 * 30 + 50 * 40) * PIXEL**2, rel=0.15)
    # nothing found at all: an empty FeatureCollection, written without error
    assert empty['features'] == []
    write_json_atomic(empty, str(tmp_path / 'none.geojson'))
    with open(tmp_path / 'none.geojson') as f:
        assert json.load(f)['features'] == []


def _logged(monkeypatch):
    """The messages SceneInferencer logs."""
    import recs4r_mm.apis.scene_inferencer as module
    seen, log = [], module.print_log
    monkeypatch.setattr(module, 'print_log', lambda msg, *a, **k: seen.append(msg) or
                        log(msg, *a, **k))
    return seen


def test_score_thr_drops_predictions_under_it_and_logs_it(generalized, tmp_path, monkeypatch):
    infer, answers = generalized
    answers.update({'a': 0.9, 'b': 0.3, 'c': 0.5, 'd': 0.49})
    logged = _logged(monkeypatch)
    with SceneRaster(_two_roofs(tmp_path / 's.tif')) as scene:
        every = infer(scene, list('abcd'))
        kept = infer(scene, list('abcd'), score_thr=0.5)
        none = infer(scene, list('abcd'), score_thr=0.95)
        fc = feature_collection(none, scene)
    assert [p['text'] for p in every] == list('abcd')
    assert [p['text'] for p in kept] == ['a', 'c']
    assert kept[0]['polygons']
    assert [p['bbox'] for p in kept] == [every[0]['bbox'], every[2]['bbox']]
    assert none == [] and fc['features'] == []
    assert 'dropped 2 of 4 features under score 0.5' in logged
    assert 'dropped 4 of 4 features under score 0.95' in logged


def test_infer_scene_score_thr_option_writes_the_kept_features(generalized, tmp_path, capsys,
                                                               monkeypatch):
    """tools/infer_scene.py --score-thr in-process, the model calls stubbed as above."""
    infer, answers = generalized
    answers.update({'the roofs': 0.7, 'the tanks': 0.2, 'the ship': 'none'})
    logged = _logged(monkeypatch)
    stub = GeneralizedStub(infer, answers)
    # the tool builds its own SceneInferencer: patch the class, and keep the model generalized
    monkeypatch.setattr(SceneInferencer, '_coarse', lambda self, *a: stub.coarse(*a))
    monkeypatch.setattr(SceneInferencer, '_fine', lambda self, *a: stub.fine(*a))
    attach = SceneInferencer._attach

    def generalized_attach(self, *a):
        attach(self, *a)
        self.model.generalized = True
    monkeypatch.setattr(SceneInferencer, '_attach', generalized_attach)
    cfg = osp.join(REPO, 'configs', '_tiny_', 'recs4r_tiny.py')
    ckpt = tmp_path / 'random.pth'
    torch.save(dict(state_dict=infer.model.state_dict()), ckpt)
    texts = tmp_path / 'q.txt'
    texts.write_text('the roofs\nthe tanks\nthe ship\n')
    tool = load_script('tools/infer_scene.py')
    scene = _two_roofs(tmp_path / 's.tif')
    for thr, expected in (('0.5', ['the roofs']), ('0.95', [])):
        out = tmp_path / f'out_{thr}.geojson'
        assert tool.main([scene, str(texts), cfg, str(ckpt), '--out', str(out),
                          '--score-thr', thr]) == 0
        with open(out) as f:
            fc = json.load(f)
        assert [f['properties']['expression'] for f in fc['features']] == expected
        assert fc['recs4r']['score_thr'] == float(thr)
        # the ship is dropped too at 0.95 (its "no target" answer scores 0.9)
        assert logged[-1] == f'dropped {3 - len(expected) - (thr == "0.5")} of 3 features ' \
            f'under score {thr}'
        assert 'no target found for 1 of 3 expression(s)' in logged
        out = capsys.readouterr().out
        assert f'wrote {len(expected)} feature(s)' in out
        assert ('"the ship": no target found (score 0.900)' in out) == (thr == '0.5')
