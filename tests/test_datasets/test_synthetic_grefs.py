"""The synthetic generalized set (gRefCOCO layout): no-target and multi-target refs."""
import json
import os
import os.path as osp
import re
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pycocotools.mask as mask_utils
import pytest
from test_synthetic_generation import _tree_hash  # same folder (on sys.path under pytest)

from recs4r_mm.datasets.mask_io import decode_mask
from recs4r_mm.datasets.synthetic import (CATEGORIES, ensure_synthetic_grefs,
                                          ensure_synthetic_refrs, generate_synthetic_grefs,
                                          generate_synthetic_refrs, make_scene, vocab_tokens)
from recs4r_mm.datasets.synthetic.expressions import MAX_TOKENS, basic_tokens, position_ok
from recs4r_mm.datasets.synthetic.group_expressions import GroupDescriber, SetDesc
from recs4r_mm.datasets.synthetic.lexicon import CONTAINED_IN, COUNT_WORDS
from recs4r_mm.datasets.synthetic.rle import encode_rle

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SPLITS = ('train', 'val', 'test')
PARAMS = dict(num_images=12, image_size=128, seed=0)
# generate_synthetic_refrs(num_images=5, image_size=64, seed=11, link_images=False), hashed
# with _tree_hash on main before the generalized set was added (OpenCV 4 PNG encoder)
CLASSIC_TREE_HASH = '1929c8a1ce6faceb1d28f14d5d46548b956dff027c94f0e7c242eecfa9a35454'


def _load(root):
    with open(osp.join(root, 'instances.json')) as f:
        inst = json.load(f)
    with open(osp.join(root, 'grefs(unc).json')) as f:
        refs = json.load(f)
    with open(osp.join(root, 'meta.json')) as f:
        meta = json.load(f)
    return dict(root=root, inst=inst, refs=refs, meta=meta)


@pytest.fixture(scope='module')
def grefs(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('grefs') / 'g')
    summary = generate_synthetic_grefs(root, **PARAMS)
    return dict(_load(root), summary=summary)


def _objects(ds):
    """image id -> objects rebuilt from instances.json (category, colour, shape, bbox)."""
    cats = {c['id']: c['name'] for c in ds['inst']['categories']}
    out = {}
    for a in ds['inst']['annotations']:
        x, y, w, h = a['bbox']
        out.setdefault(a['image_id'], []).append(SimpleNamespace(
            id=a['id'], category=cats[a['category_id']], color=a['color'],
            attrs={} if a['shape'] is None else {'shape': a['shape']},
            bbox=(x, y, x + w, y + h)))
    return out


def _fits(desc, o, size, strict):
    """Independent re-check of a set description on one object."""
    cats = {desc['category']}
    if not strict:
        cats |= set(CONTAINED_IN.get(desc['category'], ()))
    fx, fy = (o.bbox[0] + o.bbox[2]) / 2 / size, (o.bbox[1] + o.bbox[3]) / 2 / size
    return (o.category in cats and desc['color'] in (None, o.color)
            and desc['shape'] in (None, o.attrs.get('shape'))
            and (desc['position'] is None or position_ok(desc['position'], fx, fy, strict)))


def test_vocab_files_match_the_generator():
    for name, generalized in (('synthetic_refrs_vocab.txt', False),
                              ('synthetic_grefs_vocab.txt', True)):
        with open(osp.join(REPO, 'configs', '_base_', 'datasets', name)) as f:
            assert f.read().split('\n')[:-1] == vocab_tokens(generalized), name
    classic, general = vocab_tokens(), vocab_tokens(True)
    assert len(classic) == 138 and len(general) == 157
    assert set(classic) < set(general)


def test_classic_output_is_unchanged(tmp_path):
    generate_synthetic_refrs(str(tmp_path / 'c'), num_images=5, image_size=64, seed=11,
                             link_images=False)
    assert _tree_hash(str(tmp_path / 'c')) == CLASSIC_TREE_HASH


def test_same_params_give_byte_identical_files(grefs, tmp_path):
    generate_synthetic_grefs(str(tmp_path / 'b'), **PARAMS)
    assert _tree_hash(grefs['root']) == _tree_hash(str(tmp_path / 'b'))
    generate_synthetic_grefs(str(tmp_path / 'c'), **dict(PARAMS, no_target_rate=0.3))
    assert _tree_hash(grefs['root']) != _tree_hash(str(tmp_path / 'c'))


def test_extra_train_images_keep_val_and_test_refs(grefs, tmp_path):
    more = generate_synthetic_grefs(str(tmp_path / 'm'), extra_train_images=2, **PARAMS)
    got = _load(str(tmp_path / 'm'))
    n = PARAMS['num_images']
    assert more['num_scenes'] == dict(grefs['meta']['num_scenes'],
                                      train=grefs['meta']['num_scenes']['train'] + 2)
    for split in ('val', 'test'):
        assert [r for r in got['refs'] if r['split'] == split] == \
            [r for r in grefs['refs'] if r['split'] == split]
    assert {r['split'] for r in got['refs'] if r['image_id'] >= n} == {'train'}
    assert {r['image_id'] for r in got['refs']} >= {n, n + 1}


def test_layout_and_schema(grefs):
    root, inst, refs = grefs['root'], grefs['inst'], grefs['refs']
    assert sorted(os.listdir(root)) == ['grefs(unc).json', 'images', 'instances.json',
                                        'meta.json', 'vocab.txt']
    names = sorted(img['file_name'] for img in inst['images'])
    assert names == sorted(os.listdir(osp.join(root, 'images'))) == [
        f's{i:05d}.png' for i in range(12)]
    assert [c['name'] for c in inst['categories']] == list(CATEGORIES)
    anns = {a['id']: a for a in inst['annotations']}
    assert len(anns) == len(inst['annotations'])
    for a in inst['annotations']:
        assert a['iscrowd'] == 0 and a['area'] >= 3 and len(a['bbox']) == 4
        assert set(a['segmentation']) == {'size', 'counts'}
    assert [r['ref_id'] for r in refs] == list(range(len(refs)))
    sent_ids = [s['sent_id'] for r in refs for s in r['sentences']]
    assert sent_ids == list(range(len(sent_ids)))
    images = {img['id']: img for img in inst['images']}
    for r in refs:
        assert r['split'] in SPLITS and r['file_name'] == images[r['image_id']]['file_name']
        assert r['sent_ids'] == [s['sent_id'] for s in r['sentences']] and r['sentences']
        for s in r['sentences']:
            assert s['sent'] == s['raw'] and s['tokens'] == basic_tokens(s['sent'])
        if r['no_target']:
            assert r['ann_id'] == [-1] and r['category_id'] == [-1]
            assert r['ref_type'] == 'none' == r['shape_family'] and r['no_target_kind']
        else:
            assert all(anns[i]['image_id'] == r['image_id'] for i in r['ann_id'])
            assert r['category_id'] == [anns[i]['category_id'] for i in r['ann_id']]
            assert r['ref_type'] == ('single' if len(r['ann_id']) == 1 else 'multi')
            assert r['no_target_kind'] is None
            assert (r['description'] is None) == (r['ref_type'] == 'single')
    # every split of a scene is one split
    scene_split = {}
    for r in refs:
        assert scene_split.setdefault(r['image_id'], r['split']) == r['split']


def test_single_target_refs_are_the_classic_ones(grefs, tmp_path):
    generate_synthetic_refrs(str(tmp_path / 'c'), **PARAMS)
    classic = {}
    for s in SPLITS:
        with open(tmp_path / 'c' / 'phrase_txts' / f'{s}.json') as f:
            classic.update({int(k): dict(v, split=s) for k, v in json.load(f).items()})
    anns = {a['id']: a for a in grefs['inst']['annotations']}
    singles = [r for r in grefs['refs'] if r['ref_type'] == 'single']
    assert sorted(r['ann_id'][0] for r in singles) == sorted(classic)
    for r in singles:
        c, a = classic[r['ann_id'][0]], anns[r['ann_id'][0]]
        assert [s['sent'] for s in r['sentences']] == c['sentences']
        assert r['split'] == c['split'] and r['shape_family'] == c['shape_family']
        x, y, w, h = a['bbox']
        assert [x, y, x + w, y + h] == c['bbox'] and a['color'] == c['color']


def test_multi_target_refs_are_exactly_what_they_describe(grefs):
    objs, size = _objects(grefs), PARAMS['image_size']
    multi = [r for r in grefs['refs'] if r['ref_type'] == 'multi']
    assert multi
    for r in multi:
        d, scene = r['description'], objs[r['image_id']]
        strict = sorted(o.id for o in scene if _fits(d, o, size, True))
        loose = sorted(o.id for o in scene if _fits(d, o, size, False))
        assert sorted(r['ann_id']) == strict == loose and len(strict) >= 2, r
        n = len(strict)
        for s in r['sentences']:
            words = s['sent'].split()
            counts = [k for k, w in COUNT_WORDS.items() if w in words]
            assert counts in ([], [n]), s['sent']
            assert ('both' in words) <= (n == 2), s['sent']
            assert words[0] in ('all', 'every', 'both', 'the'), s['sent']


def test_no_target_refs_match_nothing(grefs):
    objs, size = _objects(grefs), PARAMS['image_size']
    none = [r for r in grefs['refs'] if r['no_target']]
    assert none
    for r in none:
        d, scene = r['description'], objs[r['image_id']]
        assert not [o for o in scene if _fits(d, o, size, False)], r
        base = dict(d, color=None, shape=None, position=None)
        if r['no_target_kind'] == 'category':
            assert not [o for o in scene if _fits(base, o, size, False)]
        for s in r['sentences']:  # the single-target frames
            assert s['sent'].startswith('the ') and not {'all', 'every', 'both'} & set(
                s['sent'].split()), s['sent']


def test_texts_unique_per_image_and_in_vocab(grefs):
    vocab = set(vocab_tokens(True))
    per_image = {}
    for r in grefs['refs']:
        for s in r['sentences']:
            assert set(s['tokens']) <= vocab and len(s['tokens']) <= MAX_TOKENS, s['sent']
            per_image.setdefault(r['image_id'], []).append(s['sent'])
    for texts in per_image.values():
        assert len(texts) == len(set(texts))


def test_masks_decode_to_the_objects_pixels(grefs):
    anns = {}
    for a in grefs['inst']['annotations']:
        anns.setdefault(a['image_id'], []).append(a)
    size = PARAMS['image_size']
    for i in range(PARAMS['num_images']):
        scene = make_scene(np.random.default_rng([PARAMS['seed'], 0, i]), size, (3, 6), (2, 3))
        assert len(scene.objects) == len(anns[i])
        for o, a in zip(scene.objects, anns[i]):
            m = decode_mask(a['segmentation'], (size, size))
            assert (m == o.full_mask(size)).all() and a['area'] == int(m.sum())
    rng = np.random.default_rng(1)
    big = rng.random((384, 300)) < 0.3
    big[:, :100] = False
    ref = mask_utils.encode(np.asfortranarray(big.astype(np.uint8)))
    assert encode_rle(big) == {'size': [384, 300], 'counts': ref['counts'].decode()}


def test_meta_counts(grefs):
    meta, refs = grefs['meta'], grefs['refs']
    assert meta['generator'] == 'recs4r_mm.synthetic_grefs' and meta['layout'] == 'grefcoco'
    assert meta['params']['no_target_rate'] == 0.15 and meta['vocab_size'] == 157
    for s in SPLITS:
        for t in ('single', 'multi', 'none'):
            rs = [r for r in refs if r['split'] == s and r['ref_type'] == t]
            assert meta['num_refs'][s][t] == len(rs)
            assert meta['num_sentences'][s][t] == sum(len(r['sentences']) for r in rs)
        assert meta['num_objects'][s] == meta['num_refs'][s]['single']
        assert sum(meta['no_target_kinds'][s].values()) == meta['num_refs'][s]['none']
    assert sum(meta['num_scenes'].values()) == 12
    assert grefs['summary']['generated'] and grefs['summary']['num_refs'] == meta['num_refs']


def test_rates_are_respected(tmp_path):
    meta = generate_synthetic_grefs(str(tmp_path / 'a'), num_images=40, image_size=64,
                                    no_target_rate=0.2, multi_target_rate=0.1)
    for s in ('train', 'test'):
        n = meta['num_refs'][s]
        total = sum(n.values())
        assert abs(n['none'] / total - 0.2) < 0.03 and abs(n['multi'] / total - 0.1) < 0.03
        single_share = 1 - 0.2 - 0.1  # never more than the quota
        assert n['none'] <= np.floor(n['single'] * 0.2 / single_share + 0.5)
        assert n['multi'] <= np.floor(n['single'] * 0.1 / single_share + 0.5)
    meta = generate_synthetic_grefs(str(tmp_path / 'b'), num_images=6, image_size=64,
                                    no_target_rate=0, multi_target_rate=0)
    assert all(meta['num_refs'][s]['multi'] == meta['num_refs'][s]['none'] == 0
               for s in SPLITS)


def test_group_logic_on_a_hand_made_scene():

    def obj(cat, color, box, shape=None):
        return SimpleNamespace(category=cat, color=color, bbox=box,
                               attrs={} if shape is None else {'shape': shape})

    objs = [obj('ship', 'red', (5, 60, 25, 66)),  # 0: left
            obj('ship', 'red', (8, 20, 30, 26)),  # 1: left, top
            obj('ship', 'blue', (100, 60, 125, 66)),  # 2: right
            obj('vehicle', 'red', (60, 10, 64, 14)),  # 3
            obj('vehicle', 'red', (60, 110, 64, 114)),  # 4
            obj('convoy', 'blue', (100, 100, 120, 104))]  # 5
    g = GroupDescriber(objs, 128, np.random.default_rng(0))
    assert g.exact_targets(SetDesc('ship')) == [0, 1, 2]
    assert g.exact_targets(SetDesc('ship', 'red')) == [0, 1]
    assert g.exact_targets(SetDesc('ship', position='left')) == [0, 1]
    assert g.exact_targets(SetDesc('vehicle')) is None  # the convoy's vehicles
    assert g.exact_targets(SetDesc('vehicle', 'red')) == [3, 4]
    multi = g.multi_candidates()
    assert SetDesc('ship', 'red') in multi and SetDesc('vehicle') not in multi
    assert SetDesc('ship', 'blue') not in multi  # one object is not a group
    none = dict((d, k) for k, d in g.no_target_candidates())
    assert none[SetDesc('bridge')] == 'category'
    assert none[SetDesc('ship', 'pink')] == 'attribute'
    assert none[SetDesc('ship', 'blue', position='left')] == 'position'
    assert SetDesc('vehicle', 'blue') not in none  # the blue convoy
    assert SetDesc('ship', position='left') not in none
    assert all(not g.matches(d, False) for d in none)
    texts = set()
    refs = g.multi_target(3, (2, 3), texts) + g.no_target(3, (2, 3), texts)
    assert len(refs) == 6 and len(texts) == sum(len(r.sentences) for r in refs)


def test_ensure_reuses_regenerates_and_protects(tmp_path):
    out = str(tmp_path / 'ds')
    kw = dict(num_images=4, image_size=64, seed=1)
    assert ensure_synthetic_grefs(out, **kw)['generated']
    mtime = os.stat(osp.join(out, 'meta.json')).st_mtime_ns
    assert not ensure_synthetic_grefs(out, **kw)['generated']
    assert os.stat(osp.join(out, 'meta.json')).st_mtime_ns == mtime
    s = ensure_synthetic_grefs(out, **dict(kw, multi_target_rate=0.2))
    assert s['generated'] and s['params']['multi_target_rate'] == 0.2
    with pytest.raises(TypeError):
        ensure_synthetic_grefs(out, image_suffix='.jpg')
    with pytest.raises(ValueError):
        generate_synthetic_grefs(str(tmp_path / 'x'), no_target_rate=0.6, multi_target_rate=0.4)
    classic = str(tmp_path / 'classic')
    ensure_synthetic_refrs(classic, num_images=3, image_size=64)
    with pytest.raises(FileExistsError, match='not a synthetic dataset'):
        generate_synthetic_grefs(classic, num_images=3, image_size=64, overwrite=True)
    user = tmp_path / 'user'
    user.mkdir()
    (user / 'precious.txt').write_text('keep')
    with pytest.raises(FileExistsError, match='not a synthetic dataset'):
        ensure_synthetic_grefs(str(user), **kw)
    assert (user / 'precious.txt').read_text() == 'keep'
    assert sorted(os.listdir(tmp_path)) == ['classic', 'classic.lock', 'ds', 'ds.lock', 'user',
                                            'user.lock']


def test_grefcoco_loader_reads_it(grefs):
    mod = pytest.importorskip('recs4r_mm.datasets.grefcoco')
    counts = {}
    for split in SPLITS:
        ds = mod.GRefCOCODataset(data_root=grefs['root'], ann_file='instances.json',
                                 split_file='grefs(unc).json',
                                 data_prefix=dict(img_path='images/'), split=split,
                                 pipeline=[])
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            counts[info['target_type']] = counts.get(info['target_type'], 0) + 1
            assert info['no_target'] == (info['target_type'] == 'none')
            assert osp.isfile(info['img_path'])
    meta = grefs['meta']['num_refs']
    assert counts == {t: sum(meta[s][t] for s in SPLITS) for t in ('single', 'multi', 'none')}


def test_cli_generalized(tmp_path):
    out = str(tmp_path / 'cli')
    res = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'dataset_converters',
                                                   'make_synthetic_refrs.py'), out,
                          '--generalized', '--num-images', '4', '--image-size', '64',
                          '--no-target-rate', '0.2'],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert re.search(r'single refs +multi refs +none refs', res.stdout)
    with open(osp.join(out, 'meta.json')) as f:
        assert json.load(f)['params']['no_target_rate'] == 0.2
