"""RECSInferencer on a checkpoint trained by tools/train.py (shared session fixture)."""
import glob
import json

import cv2
import mmcv
import numpy as np
import pytest

from recs4r_mm.apis import RECSInferencer
from recs4r_mm.structures import polygons_to_box, polygons_to_mask, polygons_to_oriented_box


def _scene(root, split='val'):
    with open(root / 'data' / 'phrase_txts' / f'{split}.json') as f:
        records = json.load(f)
    rid, rec = next(iter(records.items()))
    return str(root / 'data' / 'images' / f'{rid}.png'), rec['sentences'][0]


@pytest.fixture(scope='module')
def inferencer(trained_tiny_synthetic):
    root, cfg, work, _ = trained_tiny_synthetic
    return RECSInferencer(model=str(cfg), weights=str(work / 'epoch_1.pth'), device='cpu')


def test_single_image_gives_consistent_polygons_box_mask(inferencer, trained_tiny_synthetic,
                                                         tmp_path):
    root = trained_tiny_synthetic[0]
    img, text = _scene(root)
    out = inferencer(img, text, out_dir=str(tmp_path))
    pred = out['predictions'][0]
    h, w = mmcv.imread(img).shape[:2]
    assert pred['text'] == text and 0.0 <= pred['score'] <= 1.0
    assert pred['mask'].shape == (h, w)  # original image size
    parts = [dict(outer=np.array(p['outer']), holes=[np.array(q) for q in p['holes']])
             for p in pred['polygons']]
    assert parts and all(len(p['outer']) >= 3 for p in parts)
    # box = Rect(polygons) and mask = Fill(polygons), by construction (JSON rounds to 0.01 px)
    assert np.allclose(pred['bbox'], polygons_to_box(parts), atol=0.02)
    filled = polygons_to_mask(parts, (h, w))
    assert (filled != pred['mask']).sum() <= 0.02 * max(1, filled.sum())
    # oriented box = the polygons' minimum-area rectangle: it holds every outer vertex and is
    # no larger than the axis-aligned box
    ob = pred['oriented_box']
    ref = polygons_to_oriented_box(parts)
    assert ob['center'] == pytest.approx(list(ref['center']), abs=0.02)
    assert (ob['width'], ob['height']) == pytest.approx((ref['width'], ref['height']), abs=0.02)
    assert ob['width'] >= ob['height'] and -90 <= ob['angle'] < 90
    x1, y1, x2, y2 = pred['bbox']
    assert ob['width'] * ob['height'] <= (x2 - x1) * (y2 - y1) + 0.1
    corners = np.array(ob['corners'], np.float32)
    for p in parts:
        for v in p['outer']:
            assert cv2.pointPolygonTest(corners, (float(v[0]), float(v[1])), True) >= -0.05
    # files: an overlay PNG and a JSON with the same box
    pngs = glob.glob(str(tmp_path / 'vis' / '*.png'))
    jsons = glob.glob(str(tmp_path / 'preds' / '*.json'))
    assert len(pngs) == 1 and len(jsons) == 1
    assert mmcv.imread(pngs[0]).shape[0] >= h
    with open(jsons[0]) as f:
        written = json.load(f)
    assert written['bbox'] == pytest.approx(pred['bbox'])
    assert written['oriented_box'] == ob


def test_batched_arrays_and_paths_agree(inferencer, trained_tiny_synthetic):
    root = trained_tiny_synthetic[0]
    img, text = _scene(root)
    rgb = mmcv.imread(img, channel_order='rgb')
    out = inferencer([img, rgb], [text, text], batch_size=2)
    a, b = out['predictions']
    assert a['bbox'] == pytest.approx(b['bbox'], abs=1e-3)
    assert (a['mask'] == b['mask']).all()


def test_bad_inputs_raise_clear_errors(inferencer, trained_tiny_synthetic, tmp_path):
    root = trained_tiny_synthetic[0]
    img, text = _scene(root)
    with pytest.raises(FileNotFoundError, match='missing.png'):
        inferencer(str(tmp_path / 'missing.png'), text)
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not an image')
    with pytest.raises(ValueError, match='bad.png'):
        inferencer(str(bad), text)
    with pytest.raises(ValueError, match='empty referring expression'):
        inferencer(img, '   ')
