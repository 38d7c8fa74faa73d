"""Synthetic dataset generator: determinism, ensure/overwrite, shapes, logic, CLI."""
import hashlib
import json
import os
import os.path as osp
import subprocess
import sys
import threading
from types import SimpleNamespace

import numpy as np
import pytest

from recs4r_mm.datasets.synthetic import (CATEGORIES, classify_mask, draw_shape,
                                          ensure_synthetic_refrs, generate_synthetic_refrs,
                                          measure_mask, split_counts)
from recs4r_mm.datasets.synthetic.expressions import Desc, SceneDescriber

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tree_hash(root):
    h = hashlib.sha256()
    for d, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            p = osp.join(d, name)
            h.update(osp.relpath(p, root).encode())
            with open(p, 'rb') as f:
                h.update(f.read())
    return h.hexdigest()


def test_same_seed_gives_byte_identical_files(tmp_path):
    kw = dict(num_images=8, image_size=96, seed=3)
    generate_synthetic_refrs(str(tmp_path / 'a'), **kw)
    generate_synthetic_refrs(str(tmp_path / 'b'), link_images=False, **kw)
    generate_synthetic_refrs(str(tmp_path / 'c'), **dict(kw, seed=4))
    ha, hb, hc = (_tree_hash(str(tmp_path / n)) for n in 'abc')
    assert ha == hb
    assert ha != hc
    with open(tmp_path / 'a' / 'meta.json') as f:
        meta = json.load(f)
    assert meta['params']['image_size'] == 96 and sum(meta['num_scenes'].values()) == 8


def test_extra_train_images_grow_train_and_keep_val_and_test(tmp_path):
    kw = dict(num_images=10, image_size=64, seed=2)
    base = generate_synthetic_refrs(str(tmp_path / 'base'), **kw)
    more = generate_synthetic_refrs(str(tmp_path / 'more'), extra_train_images=3, **kw)
    assert 'extra_train_images' not in base['params']  # older datasets keep their params
    assert more['params']['extra_train_images'] == 3
    assert more['num_scenes'] == dict(base['num_scenes'],
                                      train=base['num_scenes']['train'] + 3)
    for split in ('val', 'test'):  # the same objects, ids, boxes and expressions
        with open(tmp_path / 'base' / 'phrase_txts' / f'{split}.json') as f:
            want = json.load(f)
        with open(tmp_path / 'more' / 'phrase_txts' / f'{split}.json') as f:
            assert json.load(f) == want
    with open(tmp_path / 'more' / 'scenes.json') as f:
        scenes = json.load(f)
    assert [sc['split'] for sc in scenes[10:]] == ['train'] * 3
    with open(tmp_path / 'more' / 'phrase_txts' / 'train.json') as f:
        train = json.load(f)
    assert {v['scene_id'] for v in train.values()} >= {'s00010', 's00011', 's00012'}
    with pytest.raises(ValueError, match='extra_train_images'):
        generate_synthetic_refrs(str(tmp_path / 'bad'), extra_train_images=-1, **kw)


def test_ensure_generates_once_and_regenerates_on_change(tmp_path):
    out = str(tmp_path / 'ds')
    s1 = ensure_synthetic_refrs(out, num_images=4, image_size=64, seed=1)
    assert s1['generated']
    mtime = os.stat(osp.join(out, 'meta.json')).st_mtime_ns
    s2 = ensure_synthetic_refrs(out, num_images=4, image_size=64, seed=1)
    assert not s2['generated']
    assert os.stat(osp.join(out, 'meta.json')).st_mtime_ns == mtime
    assert s2['num_objects'] == s1['num_objects']
    s3 = ensure_synthetic_refrs(out, num_images=5, image_size=64, seed=1)
    assert s3['generated'] and sum(s3['num_scenes'].values()) == 5
    with pytest.raises(TypeError):
        ensure_synthetic_refrs(out, num_image=5)


def test_ensure_is_safe_when_called_concurrently(tmp_path):
    out = str(tmp_path / 'ds')
    results, errors = [], []

    def work():
        try:
            results.append(ensure_synthetic_refrs(out, num_images=6, image_size=64, seed=2))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(r['generated'] for r in results) == [False, False, True]
    leftovers = [n for n in os.listdir(tmp_path) if n not in ('ds', 'ds.lock')]
    assert leftovers == []
    assert len(os.listdir(osp.join(out, 'masks'))) == sum(results[0]['num_objects'].values())


def test_never_deletes_foreign_data(tmp_path):
    user = tmp_path / 'user'
    user.mkdir()
    (user / 'precious.txt').write_text('keep')
    with pytest.raises(FileExistsError, match='not a synthetic dataset'):
        generate_synthetic_refrs(str(user), num_images=3, image_size=64, overwrite=True)
    with pytest.raises(FileExistsError, match='not empty'):
        generate_synthetic_refrs(str(user), num_images=3, image_size=64)
    assert (user / 'precious.txt').read_text() == 'keep'
    assert sorted(os.listdir(tmp_path)) == ['user']  # no temp dirs left behind
    out = str(tmp_path / 'ds')
    generate_synthetic_refrs(out, num_images=3, image_size=64)
    with pytest.raises(FileExistsError):
        generate_synthetic_refrs(out, num_images=3, image_size=64)
    generate_synthetic_refrs(out, num_images=4, image_size=64, overwrite=True)


@pytest.mark.parametrize('kwargs', [dict(image_size=32), dict(num_images=0),
                                    dict(objects_per_image=(3, 2)),
                                    dict(splits=(1, -1, 0)), dict(image_suffix='.gif')])
def test_bad_parameters_are_rejected(tmp_path, kwargs):
    with pytest.raises(ValueError):
        generate_synthetic_refrs(str(tmp_path / 'x'), **kwargs)
    assert not osp.exists(tmp_path / 'x')


def test_split_counts():
    assert split_counts(200, (0.7, 0.1, 0.2)) == (140, 20, 40)
    assert split_counts(3, (0.7, 0.1, 0.2)) == (1, 1, 1)
    assert split_counts(10, (1.0, 0.0, 0.0)) == (10, 0, 0)
    for n in range(1, 30):
        assert sum(split_counts(n, (0.7, 0.1, 0.2))) == n


@pytest.mark.parametrize('size', [64, 128, 256])
def test_every_category_draws_its_shape_family(size):
    rng = np.random.default_rng(size)
    for name, cat in CATEGORIES.items():
        for _ in range(4):
            shape = draw_shape(name, rng, size)
            assert shape.mask.sum() >= 3
            assert classify_mask(shape.mask, size) == cat.family, (name, size)
            assert (shape.detail <= shape.mask).all()
            m = measure_mask(shape.mask)
            if name in ('storage_tank', 'track_field'):
                assert m['holes'] == 1 and m['parts'] == 1
            if name == 'convoy':
                assert m['parts'] == shape.attrs['count'] >= 3


def _obj(cat, color, box, shape=None):
    x1, y1, x2, y2 = box
    xs, ys = np.meshgrid(np.arange(x1, x2), np.arange(y1, y2))
    return SimpleNamespace(category=cat, color=color, bbox=box, area=(x2 - x1) * (y2 - y1),
                           attrs={} if shape is None else {'shape': shape},
                           boundary=np.stack([xs.ravel(), ys.ravel()], 1).astype(float))


def test_descriptions_are_unique_only_when_they_should_be():
    rng = np.random.default_rng(0)
    objs = [_obj('ship', 'red', (5, 60, 25, 66)),      # 0: left, middle size
            _obj('ship', 'red', (90, 58, 125, 68)),    # 1: right, the large one
            _obj('ship', 'blue', (60, 110, 72, 114)),  # 2: bottom, the small one
            _obj('building', 'red', (55, 50, 75, 75), 'l-shaped')]  # 3: centre
    d = SceneDescriber(objs, 128, rng)
    assert not d.unique(Desc(('color',)), 0)  # two red ships
    assert d.unique(Desc(('color',)), 2)  # the only blue ship
    assert d.unique(Desc(()), 3) and d.unique(Desc(('shape',)), 3)  # the only building
    assert d.unique(Desc((), ('pos', 'left')), 0)
    assert not d.unique(Desc((), ('pos', 'right')), 0)
    assert not d.unique(Desc((), ('pos', 'center')), 1)
    assert d.size_label == ['large' if i == 1 else 'small' if i == 2 else None for i in range(4)]
    assert d.unique(Desc(('size',)), 1) and d.unique(Desc(('size',)), 2)
    assert not d.unique(Desc(('size',)), 0)
    assert d.unique(Desc((), ('extreme', 'leftmost')), 0)
    assert d.unique(Desc((), ('extreme', 'bottommost')), 2)
    assert not d.unique(Desc((), ('extreme', 'topmost')), 0)  # tie with ship 1
    assert d.unique(Desc((), ('rel', 'left_of', 3)), 0)
    assert d.unique(Desc((), ('rel', 'right_of', 3)), 1)
    assert d.unique(Desc((), ('rel', 'below', 3)), 2)
    assert not d.unique(Desc((), ('rel', 'above', 3)), 0)
    assert not d.unique(Desc((), ('rel', 'next_to', 3)), 0)  # 30 px away
    texts = [d.describe(t, 2, 3) for t in range(4)]
    assert all(t is not None and 2 <= len(t) <= 3 for t in texts)
    flat = [s for t in texts for s in t]
    assert len(flat) == len(set(flat))
    assert not any(s in ('the red ship', 'the red boat') for s in flat)


def test_cli_runs_standalone_without_the_mm_stack(tmp_path):
    out = str(tmp_path / 'cli')
    code = ('import runpy, sys; sys.argv = ["make_synthetic_refrs.py", %r, "--num-images", "5",'
            ' "--image-size", "64", "--preview", %r];'
            ' runpy.run_path(%r, run_name="__main__");'
            ' bad = [m for m in sys.modules if m.split(".")[0] in'
            ' ("torch", "mmengine", "mmdet", "mmcv", "recs4r_mm", "transformers")];'
            ' assert not bad, bad' % (out, str(tmp_path / 'p.png'),
                                      osp.join(REPO, 'tools', 'dataset_converters',
                                               'make_synthetic_refrs.py')))
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         cwd=str(tmp_path), timeout=120)
    assert res.returncode == 0, res.stderr
    assert 'train' in res.stdout and 'with_holes' in res.stdout
    assert osp.exists(osp.join(out, 'meta.json')) and osp.exists(tmp_path / 'p.png')
    res = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'dataset_converters',
                                                   'make_synthetic_refrs.py'), out,
                          '--num-images', '5', '--image-size', '64'],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode != 0 and 'overwrite' in res.stderr
