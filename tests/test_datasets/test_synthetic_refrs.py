"""The synthetic RefDIOR-layout dataset: layout, masks, expressions, vocab."""
import json
import os
import os.path as osp
from collections import defaultdict

import cv2
import numpy as np
import pytest

from recs4r_mm.datasets.synthetic import (CATEGORIES, OBJECT_COLORS, SHAPE_FAMILIES, SPECIAL_TOKENS,
                                          basic_tokens, classify_mask, generate_synthetic_refrs,
                                          render_preview)
from recs4r_mm.datasets.synthetic.expressions import MAX_TOKENS
from recs4r_mm.datasets.synthetic.ground import LAND_TONES, ROAD_TONE, TREE_TONE

SPLITS = ('train', 'val', 'test')


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    """The default-size dataset (200 images, 128 px, seed 0), read back."""
    root = str(tmp_path_factory.mktemp('syn') / 'refrs')
    summary = generate_synthetic_refrs(root)
    phrases = {}
    for s in SPLITS:
        with open(osp.join(root, 'phrase_txts', s + '.json')) as f:
            phrases[s] = json.load(f)
    with open(osp.join(root, 'scenes.json')) as f:
        scenes = json.load(f)
    return dict(root=root, summary=summary, phrases=phrases, scenes=scenes)


def _read_mask(root, oid):
    m = cv2.imread(osp.join(root, 'masks', oid + '.png'), cv2.IMREAD_UNCHANGED)
    assert m is not None and m.ndim == 2, f'mask {oid} unreadable or not single-channel'
    return m


def _records(ds):
    for s in SPLITS:
        for oid, rec in ds['phrases'][s].items():
            yield s, oid, rec


def test_layout_and_schema(dataset):
    root = dataset['root']
    for name in ('images', 'masks', 'phrase_txts', 'vocab.txt', 'meta.json', 'scenes.json'):
        assert osp.exists(osp.join(root, name)), name
    ids = [oid for _, oid, _ in _records(dataset)]
    assert len(ids) == len(set(ids)), 'an object id is in two splits'
    assert sorted(os.listdir(osp.join(root, 'images'))) == sorted(i + '.png' for i in ids)
    assert sorted(os.listdir(osp.join(root, 'masks'))) == sorted(i + '.png' for i in ids)
    for split, oid, rec in _records(dataset):
        assert isinstance(oid, str) and oid.isdigit() and len(oid) == 5
        assert set(rec) == {'bbox', 'sentences', 'category', 'shape_family', 'color',
                            'scene_id'}
        assert len(rec['bbox']) == 4 and all(type(v) is int for v in rec['bbox'])
        assert 2 <= len(rec['sentences']) <= 3
        assert all(isinstance(t, str) and t for t in rec['sentences'])
        assert rec['category'] in CATEGORIES
        assert rec['shape_family'] == CATEGORIES[rec['category']].family
        assert rec['color'] in OBJECT_COLORS
    meta = dataset['summary']
    assert meta['num_scenes'] == {'train': 140, 'val': 20, 'test': 40}
    for s in SPLITS:
        assert meta['num_objects'][s] == len(dataset['phrases'][s])
        assert meta['num_sentences'][s] == sum(len(r['sentences'])
                                               for r in dataset['phrases'][s].values())
    with open(osp.join(root, 'meta.json')) as f:
        assert json.load(f)['params']['seed'] == 0


def test_split_by_scene(dataset):
    split_of = {}
    for split, oid, rec in _records(dataset):
        assert split_of.setdefault(rec['scene_id'], split) == split, \
            f"scene {rec['scene_id']} is in two splits"
    for sc in dataset['scenes']:
        assert 3 <= len(sc['objects']) <= 6
        for oid in sc['objects']:
            assert dataset['phrases'][sc['split']][oid]['scene_id'] == sc['scene_id']


def test_masks_binary_and_bbox_exact(dataset):
    root = dataset['root']
    for _, oid, rec in _records(dataset):
        m = _read_mask(root, oid)
        assert set(np.unique(m)) <= {0, 255}, f'mask {oid} is not 0/255'
        fg = m > 0
        assert fg.sum() >= 3, f'mask {oid} has < 3 px'
        rows, cols = np.flatnonzero(fg.any(1)), np.flatnonzero(fg.any(0))
        assert rec['bbox'] == [cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], oid
        img = cv2.imread(osp.join(root, 'images', oid + '.png'), cv2.IMREAD_UNCHANGED)
        assert img.shape == m.shape + (3,)
        # the mask really has the shape its family claims
        assert classify_mask(fg, m.shape[0]) == rec['shape_family'], oid


def _nearest(pixels_bgr, tones_rgb):
    tones = np.asarray(tones_rgb, np.float32)[:, ::-1]
    d = ((pixels_bgr[:, None, :].astype(np.float32) - tones[None]) ** 2).sum(-1)
    return d.argmin(1)


def test_masks_match_drawn_objects_and_do_not_overlap(dataset):
    """Inside a mask the pixels have the object's colour; the 1-px ring just
    outside is ground; objects of a scene never overlap or touch."""
    root = dataset['root']
    names = list(OBJECT_COLORS)
    palette = [OBJECT_COLORS[c] for c in names] + list(LAND_TONES) + [ROAD_TONE, TREE_TONE]
    inside_frac, outside_frac = [], []
    for sc in dataset['scenes']:
        ids = sc['objects']
        img = cv2.imread(osp.join(root, 'images', ids[0] + '.png'))
        taken = np.zeros(img.shape[:2], np.uint8)
        for oid in ids:
            assert os.stat(osp.join(root, 'images', oid + '.png')).st_ino == \
                os.stat(osp.join(root, 'images', ids[0] + '.png')).st_ino  # same scene image
            fg = (_read_mask(root, oid) > 0).astype(np.uint8)
            grown = cv2.dilate(fg, np.ones((3, 3), np.uint8))
            assert not (grown & taken).any(), f'{oid} overlaps/touches another object'
            taken |= fg
            rec = dataset['phrases'][sc['split']][oid]
            near_in = _nearest(img[fg > 0], palette)
            inside_frac.append(np.mean(near_in == names.index(rec['color'])))
            ring = (grown > 0) & (fg == 0)
            near_out = _nearest(img[ring], palette)
            outside_frac.append(np.mean(near_out < len(names)))
    assert min(inside_frac) >= 0.5, min(inside_frac)
    assert np.mean(inside_frac) >= 0.85
    assert max(outside_frac) <= 0.1, max(outside_frac)


def test_expressions_unique_within_image(dataset):
    by_scene = defaultdict(list)
    for _, oid, rec in _records(dataset):
        assert len(set(rec['sentences'])) == len(rec['sentences'])
        for t in rec['sentences']:
            assert len(basic_tokens(t)) <= MAX_TOKENS
            assert t == t.lower() and t.startswith('the ')
        by_scene[rec['scene_id']] += rec['sentences']
    for scene_id, texts in by_scene.items():
        assert len(texts) == len(set(texts)), f'repeated expression in {scene_id}'


def test_every_shape_family_and_attribute_used(dataset):
    for s in SPLITS:
        fams = dataset['summary']['shape_families'][s]
        assert set(fams) == set(SHAPE_FAMILIES) and min(fams.values()) > 0, (s, fams)
    assert set(dataset['summary']['categories']) == set(CATEGORIES)
    texts = ' '.join(t for _, _, r in _records(dataset) for t in r['sentences'])
    for word in ('left', 'right', 'top', 'bottom', 'center', 'next to', 'larger', 'smallest',
                 'leftmost', 'l-shaped', 'pair of', 'red', 'above'):
        assert word in texts, word


def test_vocab_covers_every_word(dataset):
    with open(osp.join(dataset['root'], 'vocab.txt')) as f:
        vocab = f.read().split('\n')[:-1]
    assert tuple(vocab[:5]) == SPECIAL_TOKENS
    assert len(vocab) == len(set(vocab))
    sentences = [t for _, _, r in _records(dataset) for t in r['sentences']]
    words = {w for t in sentences for w in basic_tokens(t)}
    assert words <= set(vocab), sorted(words - set(vocab))
    from tokenizers import BertWordPieceTokenizer  # the engine of BertTokenizerFast
    tok = BertWordPieceTokenizer(osp.join(dataset['root'], 'vocab.txt'), lowercase=True)
    for t in sentences:
        enc = tok.encode(t)
        assert '[UNK]' not in enc.tokens, t
        assert enc.tokens[1:-1] == basic_tokens(t)  # whole words, [CLS] ... [SEP]


def test_real_refdior_loader_reads_it(dataset):
    """The project's RefDIOR loader takes the dataset as is: no skipped record,
    one evaluation sample per sentence, boxes as written."""
    from recs4r_mm.datasets import RefDIORDataset
    for split in ('val', 'test'):
        ds = RefDIORDataset(data_root=dataset['root'], split=split, img_suffix='.png',
                            test_mode=True, validate_masks=True, pipeline=[])
        assert not ds.skip_counts, ds.skip_counts
        recs = dataset['phrases'][split]
        assert len(ds) == sum(len(r['sentences']) for r in recs.values())
        for i in range(0, len(ds), 11):
            info = ds.get_data_info(i)
            rec = recs[info['ref_id']]
            assert info['text'] in rec['sentences']
            assert info['instances'][0]['bbox'] == rec['bbox']
            assert info['category'] == rec['category']
            assert osp.basename(info['img_path']) == info['ref_id'] + '.png'


def test_preview_renders(dataset, tmp_path):
    out = str(tmp_path / 'p.png')
    img = render_preview(dataset['root'], out, scene_index=3)
    assert osp.getsize(out) > 0 and img.shape[1] == 2 * 128 * 4 + 8
    n = len(dataset['scenes'][3]['objects'])
    assert img.shape[0] >= 128 * 4 + 18 * n
