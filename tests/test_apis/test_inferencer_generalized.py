"""RECSInferencer, the visualizer and demo/image_demo.py with a generalized model answering 0, 1
or 2 objects: the tiny config, random weights, and ``RECS4R.decode`` replaced by a stub whose
sequence we write by hand (so every box below is computed by hand)."""
import json
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from script_loader import REPO, load_script

from recs4r_mm.apis import RECSInferencer
from recs4r_mm.structures import (TOKEN_COORD, TOKEN_END, TOKEN_OBJ, TOKEN_START, pad_sequences,
                                  polygons_to_mask)

TINY = osp.join(REPO, 'configs', '_tiny_', 'recs4r_tiny.py')
H, W = 32, 48  # the image; the tiny test pipeline stretches it to 64 x 64, unpadded, so
# coordinates normalised by the padded input are normalised by the image: px = (x W, y H)
SQUARE = [[0.25, 0.25], [0.5, 0.25], [0.5, 0.5], [0.25, 0.5]]  # -> [12, 8, 24, 16] px
TRIANGLE = [[0.625, 0.5], [0.875, 0.5], [0.875, 0.875]]  # -> [30, 16, 42, 28] px
SCORE = 0.75


def _sequence(*objects):
    """START, the objects' vertices OBJ-separated, END (no object: START, END)."""
    tokens, coords = [TOKEN_START], [[0.0, 0.0]]
    for k, obj in enumerate(objects):
        if k:
            tokens.append(TOKEN_OBJ)
            coords.append([0.0, 0.0])
        tokens += [TOKEN_COORD] * len(obj)
        coords += obj
    return np.array(tokens + [TOKEN_END]), np.array(coords + [[0.0, 0.0]], np.float32)


SEQUENCES = dict(none=_sequence(), one=_sequence(SQUARE), two=_sequence(SQUARE, TRIANGLE))


def stub_decode(answers):
    """A ``RECS4R.decode`` stand-in: expression ``text`` decodes to ``SEQUENCES[text]``."""

    def decode(self, batch_inputs, texts, img_hw=None, originals=None):
        tokens, coords = pad_sequences([SEQUENCES[answers[t]] for t in texts])
        b = len(texts)
        return dict(tokens=tokens, coords=coords, scores=torch.full((b, ), SCORE),
                    empty=tokens[:, 1] == TOKEN_END,
                    coarse_boxes=torch.tensor([[0.0, 0.0, 1.0, 1.0]]).expand(b, 4))
    return decode


ANSWERS = {'the ship': 'none', 'the building': 'one', 'all the buildings': 'two'}


def _config():
    cfg = Config.fromfile(TINY)
    cfg.model.sequence_coder.generalized = True
    cfg.model.score_head = dict(type='ContourScoreHead', embed_dims=cfg.model.encoder.embed_dims)
    return cfg


@pytest.fixture(scope='module')
def inferencer():
    torch.manual_seed(0)
    return RECSInferencer(model=_config(), device='cpu')


@pytest.fixture
def stubbed(inferencer, monkeypatch):
    from recs4r_mm.models.detectors import RECS4R
    monkeypatch.setattr(RECS4R, 'decode', stub_decode(ANSWERS))
    return inferencer


def _image():
    return np.random.RandomState(0).randint(0, 256, (H, W, 3)).astype(np.uint8)


def _px(ring):
    return np.asarray(ring) * [W, H]


def test_no_target_gives_empty_answer_json_and_plain_drawing(stubbed, tmp_path):
    out = stubbed(_image(), 'the ship', out_dir=str(tmp_path))
    (pred, ) = out['predictions']
    assert pred['no_target'] is True and pred['objects'] == []
    assert pred['bbox'] is None and pred['score'] is None and pred['oriented_box'] is None
    assert pred['polygons'] == []
    assert pred['mask'].shape == (H, W) and pred['mask'].dtype == bool and not pred['mask'].any()
    with open(tmp_path / 'preds' / '000000_0.json') as f:
        written = json.load(f)
    assert written == dict(text='the ship', bbox=None, score=None, polygons=[],
                           oriented_box=None, objects=[], no_target=True)
    assert (tmp_path / 'vis' / '000000_0.png').is_file()
    # the drawing: the image upscaled x12 (min_size 384), untouched under the caption
    (drawn, ) = out['visualization']
    plain = cv2.resize(_image(), (W * 12, H * 12), interpolation=cv2.INTER_NEAREST)
    assert drawn.shape == plain.shape
    assert (drawn[60:] == plain[60:]).all()
    assert (drawn[:30, :120] != plain[:30, :120]).any()  # the caption


def test_two_objects_give_two_hand_computed_boxes_and_the_union_mask(stubbed, tmp_path):
    out = stubbed(_image(), 'all the buildings', out_dir=str(tmp_path))
    (pred, ) = out['predictions']
    assert pred['no_target'] is False and len(pred['objects']) == 2
    a, b = pred['objects']
    assert a['bbox'] == pytest.approx([12, 8, 24, 16], abs=1e-4)
    assert b['bbox'] == pytest.approx([30, 16, 42, 28], abs=1e-4)
    assert a['score'] == b['score'] == pytest.approx(SCORE)
    assert np.allclose(a['polygons'][0]['outer'], _px(SQUARE))
    assert np.allclose(b['polygons'][0]['outer'], _px(TRIANGLE))
    # the top-level keys are the first object's
    assert (pred['bbox'], pred['score'], pred['polygons'], pred['oriented_box']) == (
        a['bbox'], a['score'], a['polygons'], a['oriented_box'])
    # the oriented boxes: the square's is itself (12 x 8, axis-aligned); the right triangle's
    # minimum-area rectangle has its hypotenuse as a side: 12 sqrt2 x 6 sqrt2 at +-45 deg
    ob = a['oriented_box']
    assert ob['center'] == pytest.approx([18, 12], abs=0.01)
    assert (ob['width'], ob['height'], ob['angle']) == pytest.approx((12, 8, 0), abs=0.01)
    ob = b['oriented_box']
    assert (ob['width'], ob['height']) == pytest.approx((12 * 2**0.5, 6 * 2**0.5), abs=0.01)
    assert abs(ob['angle']) == pytest.approx(45, abs=0.01)
    sq = polygons_to_mask([dict(outer=_px(SQUARE), holes=[])], (H, W))
    tri = polygons_to_mask([dict(outer=_px(TRIANGLE), holes=[])], (H, W))
    assert sq.sum() > 0 and tri.sum() > 0 and not (sq & tri).any()
    assert (pred['mask'] == (sq | tri)).all()
    with open(tmp_path / 'preds' / '000000_0.json') as f:
        written = json.load(f)
    assert set(written) == {'text', 'bbox', 'score', 'polygons', 'oriented_box', 'objects',
                            'no_target'}
    assert written['objects'][1]['bbox'] == pytest.approx(b['bbox'])
    assert written['objects'][1]['oriented_box']['corners'] == b['oriented_box']['corners']
    # the drawing: the first object red, the second blue (x12, at their centres)
    (drawn, ) = out['visualization']
    red, blue = drawn[12 * 12, 20 * 12].astype(int), drawn[22 * 12, 38 * 12].astype(int)
    assert red[0] > red[2] + 30 and blue[2] > blue[0] + 30


def test_one_object_keeps_todays_answer_and_a_mixed_batch_works(stubbed):
    out = stubbed([_image()] * 3, ['the building', 'the ship', 'all the buildings'],
                  batch_size=3)
    one, none, two = out['predictions']
    assert one['no_target'] is False and len(one['objects']) == 1
    assert one['bbox'] == pytest.approx([12, 8, 24, 16], abs=1e-4)
    keys = ('bbox', 'score', 'polygons', 'oriented_box')
    assert one['objects'][0] == {k: one[k] for k in keys}
    assert (one['mask'] == polygons_to_mask([dict(outer=_px(SQUARE), holes=[])], (H, W))).all()
    assert none['no_target'] and len(two['objects']) == 2


@pytest.fixture(scope='module')
def generalized_checkpoint(inferencer, tmp_path_factory):
    """A config file of the generalized tiny model and a checkpoint of its random weights."""
    root = tmp_path_factory.mktemp('generalized_demo')
    cfg = root / 'generalized.py'
    cfg.write_text(f'_base_ = [{TINY!r}]\nmodel = dict(sequence_coder=dict(generalized=True), '
                   "score_head=dict(type='ContourScoreHead', embed_dims=32))\n")
    ckpt = root / 'random.pth'
    torch.save(dict(state_dict=inferencer.model.state_dict()), ckpt)
    img = root / 'scene.png'
    cv2.imwrite(str(img), _image())
    return str(cfg), str(ckpt), str(img)


@pytest.mark.parametrize('text,expected', [
    ('the ship', ['"the ship": no target found; wrote {out}/vis and {out}/preds']),
    ('all the buildings', ['"all the buildings": 2 objects',
                           '  object 1: box [12.0, 8.0, 24.0, 16.0], oriented box centre (18.0, '
                           '12.0) 12.0 x 8.0 at 0.0 deg, score 0.750, 4 vertices in 1 part(s)',
                           '  object 2: box [30.0, 16.0, 42.0, 28.0], oriented box centre',
                           'wrote {out}/vis and {out}/preds']),
    ('the building', ['"the building": box [12.0, 8.0, 24.0, 16.0], oriented box centre (18.0, '
                      '12.0) 12.0 x 8.0 at 0.0 deg, score 0.750, 4 vertices in 1 part(s); '
                      'wrote {out}/vis and {out}/preds']),
])
def test_image_demo_prints_no_target_and_one_line_per_object(
        generalized_checkpoint, stubbed, monkeypatch, capsys, tmp_path, text, expected):
    cfg, ckpt, img = generalized_checkpoint
    out = str(tmp_path / 'out')
    monkeypatch.setattr(sys, 'argv', ['image_demo.py', img, text, cfg, ckpt, '--out-dir', out])
    load_script('demo/image_demo.py').main()
    lines = [line for line in capsys.readouterr().out.strip().splitlines()
             if not line.startswith('Loads checkpoint')]  # mmengine's log line
    assert len(lines) == len(expected)
    for line, want in zip(lines, expected):
        assert line.startswith(want.format(out=out)), line
    with open(osp.join(out, 'preds', 'scene_0.json')) as f:
        assert json.load(f)['no_target'] is (text == 'the ship')


def test_web_demo_status_and_downloads_with_zero_and_two_objects(stubbed, generalized_checkpoint,
                                                                 tmp_path):
    """demo/web_demo.py's handler (no browser): the status says "no target found" / "2
    objects", and each expression's JSON download is the inferencer's answer."""
    demo = load_script('demo/web_demo.py').WebDemo(stubbed, work_dir=str(tmp_path))
    img = generalized_checkpoint[2]
    out = demo.refer(img, 'the ship\nall the buildings\nthe building')
    lines = out['status'].splitlines()
    assert lines[0] == '"the ship": no target found'
    assert lines[1] == ('"all the buildings": 2 objects, score 0.750: 1: box [12.0, 8.0, 24.0, '
                        '16.0], 4 vertices in 1 part(s); 2: box [30.0, 16.0, 42.0, 28.0], 3 '
                        'vertices in 1 part(s)')
    assert lines[2] == '"the building": box [12.0, 8.0, 24.0, 16.0], score 0.750, 4 vertices ' \
        'in 1 part(s)'
    none, two, one = out['predictions']
    assert none['no_target'] and none['objects'] == [] and none['bbox'] is None
    assert [o['bbox'] for o in two['objects']] == [pytest.approx([12, 8, 24, 16], abs=1e-4),
                                                   pytest.approx([30, 16, 42, 28], abs=1e-4)]
    for path, pred in zip(out['files'], out['predictions']):
        with open(path) as f:
            assert json.load(f) == pred
    assert all(osp.isfile(png) for png, _ in out['drawings'])
