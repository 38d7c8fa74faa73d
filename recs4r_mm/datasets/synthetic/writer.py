"""Write a synthetic dataset in the RefDIOR "phrase json" layout.

    out_dir/
      images/<id>.png          the scene image, once per referred object id
      masks/<id>.png           that object's mask, 0/255
      phrase_txts/{train,val,test}.json
                               {"<id>": {"bbox": [x1, y1, x2, y2], "sentences": [...],
                                          "category": ..., "shape_family": ...,
                                          "color": ..., "scene_id": ...}}
                               (bbox: absolute px, x2/y2 = last column/row + 1)
      scenes.json              scenes with their split and object ids
      vocab.txt                BERT WordPiece vocabulary of the expressions
      meta.json                parameters, counts, generator version (written last)

Splits are by scene. Everything is derived from ``seed`` (scene ``i`` uses its
own stream ``[seed, 0, i]``), and PNGs/JSON are encoded deterministically, so
the same parameters give byte-identical files. The dataset is written into a
temporary sibling directory and renamed into place.

No paper part; docs/synthetic_data.md, sections "What is written" and "Determinism and checks".
"""
import contextlib
import json
import os
import os.path as osp
import shutil
import uuid
from collections import Counter
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .families import SHAPE_FAMILIES
from .scene import make_scene
from .vocab import write_vocab

GENERATOR = 'recs4r_mm.synthetic_refrs'
GENERATOR_VERSION = '1.0'
SPLITS = ('train', 'val', 'test')
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg')


def check_common_params(num_images, image_size, objects_per_image, seed, splits,
                        sentences_per_object, extra_train_images=0) -> Dict:
    """Validate the parameters every synthetic generator shares; returns them normalised
    (``extra_train_images`` only when positive, so older datasets keep their parameters)."""
    if int(num_images) < 1:
        raise ValueError(f'num_images must be >= 1, got {num_images}')
    if int(image_size) < 64:
        raise ValueError(f'image_size must be >= 64 px, got {image_size}')
    lo, hi = (int(v) for v in objects_per_image)
    if not 1 <= lo <= hi:
        raise ValueError(f'objects_per_image must be (min, max) with 1 <= min <= max, '
                         f'got {objects_per_image}')
    s_lo, s_hi = (int(v) for v in sentences_per_object)
    if not 1 <= s_lo <= s_hi:
        raise ValueError(f'sentences_per_object must be (min, max) with 1 <= min <= max, '
                         f'got {sentences_per_object}')
    ratios = [float(r) for r in splits]
    if len(ratios) != 3 or min(ratios) < 0 or sum(ratios) <= 0:
        raise ValueError(f'splits must be 3 non-negative (train, val, test) ratios, '
                         f'got {splits}')
    ratios = [round(r / sum(ratios), 6) for r in ratios]
    if int(extra_train_images) < 0:
        raise ValueError(f'extra_train_images must be >= 0, got {extra_train_images}')
    params = dict(num_images=int(num_images), image_size=int(image_size),
                  objects_per_image=[lo, hi], seed=int(seed), splits=ratios,
                  sentences_per_object=[s_lo, s_hi])
    if int(extra_train_images):
        params['extra_train_images'] = int(extra_train_images)
    return params


def _normalise_params(num_images, image_size, objects_per_image, seed, splits,
                      image_suffix, sentences_per_object, extra_train_images=0) -> Dict:
    params = check_common_params(num_images, image_size, objects_per_image, seed, splits,
                                 sentences_per_object, extra_train_images)
    suffix = image_suffix if image_suffix.startswith('.') else '.' + image_suffix
    if suffix.lower() not in IMAGE_SUFFIXES:
        raise ValueError(f'image_suffix must be one of {IMAGE_SUFFIXES}, got {image_suffix!r}')
    params.update(image_suffix=suffix.lower(), generator_version=GENERATOR_VERSION)
    return params


def split_counts(n: int, ratios: Sequence[float]) -> Tuple[int, int, int]:
    """Scenes per split (largest remainder; every split with a positive ratio
    gets at least one scene when there are enough scenes)."""
    raw = [n * r for r in ratios]
    counts = [int(np.floor(v)) for v in raw]
    for i in sorted(range(3), key=lambda i: (counts[i] - raw[i], i))[:n - sum(counts)]:
        counts[i] += 1
    for i in range(3):
        if ratios[i] > 0 and counts[i] == 0 and n >= sum(r > 0 for r in ratios):
            j = int(np.argmax(counts))
            counts[j] -= 1
            counts[i] += 1
    return tuple(counts)


def scene_splits(n: int, ratios: Sequence[float], seed: int,
                 extra_train: int = 0) -> List[str]:
    """The split of each of ``n + extra_train`` scenes: the first ``n`` get
    ``split_counts`` scenes per split (permuted with the stream ``[seed, 1]``), the
    ``extra_train`` after them are all train, so val and test do not change."""
    counts = split_counts(n, ratios)
    order = np.random.default_rng([seed, 1]).permutation(n)
    out = [''] * n
    for k, name in enumerate(SPLITS):
        start = sum(counts[:k])
        for i in order[start:start + counts[k]]:
            out[int(i)] = name
    return out + ['train'] * extra_train


def num_scenes(params: Dict) -> int:
    """Scenes written: ``num_images`` plus the extra training scenes."""
    return params['num_images'] + params.get('extra_train_images', 0)


def id_width(params: Dict) -> int:
    """Digits of object and scene ids (5, or more when ``scenes x max objects`` needs)."""
    return max(5, len(str(num_scenes(params) * params['objects_per_image'][1] - 1)))


def encode_image(img: np.ndarray, suffix: str) -> bytes:
    """Encode deterministically: PNG (compression 3) or JPEG (quality 95)."""
    if suffix == '.png':
        params = [cv2.IMWRITE_PNG_COMPRESSION, 3]
    else:
        params = [cv2.IMWRITE_JPEG_QUALITY, 95]
    ok, buf = cv2.imencode(suffix, img, params)
    if not ok:
        raise RuntimeError(f'could not encode an image as {suffix}')
    return buf.tobytes()


def write_bytes(path: str, data: bytes) -> None:
    with open(path, 'wb') as f:
        f.write(data)


def dump_json(path: str, obj) -> None:
    """Deterministic JSON (sorted keys, indent 1, trailing newline)."""
    with open(path, 'w', encoding='utf-8', newline='\n') as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write('\n')


def _write_dataset(root: str, params: Dict, link_images: bool) -> Dict:
    """Generate every scene and write the layout under ``root`` (must exist)."""
    for sub in ('images', 'masks', 'phrase_txts'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    n, size, seed = params['num_images'], params['image_size'], params['seed']
    scene_split = scene_splits(n, params['splits'], seed, params.get('extra_train_images', 0))
    width = id_width(params)
    phrases = {s: {} for s in SPLITS}
    scenes, families, categories = [], {s: Counter() for s in SPLITS}, Counter()
    next_id = 0
    for i in range(len(scene_split)):
        scene = make_scene(np.random.default_rng([seed, 0, i]), size,
                           tuple(params['objects_per_image']),
                           tuple(params['sentences_per_object']))
        split = scene_split[i]
        img_bytes = encode_image(cv2.cvtColor(scene.image, cv2.COLOR_RGB2BGR),
                                 params['image_suffix'])
        ids, first_img = [], None
        for o in scene.objects:
            oid = f'{next_id:0{width}d}'
            next_id += 1
            img_path = osp.join(root, 'images', oid + params['image_suffix'])
            if link_images and first_img is not None:
                try:
                    os.link(first_img, img_path)
                except OSError:
                    write_bytes(img_path, img_bytes)
            else:
                write_bytes(img_path, img_bytes)
                first_img = img_path
            mask = o.full_mask(size).astype(np.uint8) * 255
            write_bytes(osp.join(root, 'masks', oid + '.png'), encode_image(mask, '.png'))
            phrases[split][oid] = dict(bbox=[int(v) for v in o.bbox],
                                       sentences=list(o.sentences), category=o.category,
                                       color=o.color,
                                       shape_family=o.family, scene_id=f's{i:0{width}d}')
            families[split][o.family] += 1
            categories[o.category] += 1
            ids.append(oid)
        scenes.append(dict(scene_id=f's{i:0{width}d}', split=split, objects=ids))
    for s in SPLITS:
        dump_json(osp.join(root, 'phrase_txts', s + '.json'), phrases[s])
    dump_json(osp.join(root, 'scenes.json'), scenes)
    vocab_size = write_vocab(osp.join(root, 'vocab.txt'))
    meta = dict(
        generator=GENERATOR, params=params,
        layout='refdior-phrase-json', vocab_size=vocab_size,
        num_scenes={s: sum(1 for sc in scenes if sc['split'] == s) for s in SPLITS},
        num_objects={s: len(phrases[s]) for s in SPLITS},
        num_sentences={s: sum(len(v['sentences']) for v in phrases[s].values())
                       for s in SPLITS},
        shape_families={s: {f: families[s][f] for f in SHAPE_FAMILIES} for s in SPLITS},
        categories=dict(sorted(categories.items())))
    dump_json(osp.join(root, 'meta.json'), meta)
    return meta


def read_meta(out_dir: str, generator: str = GENERATOR) -> Optional[Dict]:
    """``out_dir/meta.json`` of a synthetic dataset written by ``generator``, or None if
    absent/invalid."""
    try:
        with open(osp.join(out_dir, 'meta.json'), encoding='utf-8') as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and meta.get('generator') == generator else None


def _check_target(out_dir: str, overwrite: bool, generator: str) -> None:
    """Refuse to replace a non-empty ``out_dir`` unless ``overwrite`` and it is
    a synthetic dataset (never delete a user's other data)."""
    if not osp.exists(out_dir):
        return
    if not osp.isdir(out_dir):
        raise FileExistsError(f'{out_dir} exists and is not a directory')
    if not os.listdir(out_dir):
        return
    if not overwrite:
        raise FileExistsError(f'{out_dir} exists and is not empty; pass overwrite=True '
                              f'(--overwrite) to replace it')
    if read_meta(out_dir, generator) is None:
        raise FileExistsError(f'{out_dir} is not a synthetic dataset (no valid '
                              f'meta.json); refusing to delete it')


def _replace_dir(tmp: str, out_dir: str, overwrite: bool, generator: str) -> None:
    """Move ``tmp`` to ``out_dir`` (atomic when ``out_dir`` is absent)."""
    _check_target(out_dir, overwrite, generator)
    if osp.exists(out_dir):
        old = f'{tmp}.old'
        os.rename(out_dir, old)
        os.rename(tmp, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, out_dir)


def _summary(out_dir: str, meta: Dict, generated: bool) -> Dict:
    out = dict(meta)
    out.update(out_dir=osp.abspath(out_dir), generated=generated)
    return out


def write_atomically(out_dir: str, overwrite: bool, write: Callable[[str], Dict],
                     generator: str = GENERATOR) -> Dict:
    """Run ``write(tmp_dir) -> meta`` in a temporary sibling of ``out_dir``, then rename it
    into place.

    A non-empty ``out_dir`` raises ``FileExistsError`` unless ``overwrite`` and its
    ``meta.json`` was written by ``generator`` (other data is never deleted). Returns the
    summary: ``meta`` plus ``out_dir`` and ``generated=True``.
    """
    out_dir = osp.abspath(out_dir)
    _check_target(out_dir, overwrite, generator)
    parent = osp.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = osp.join(parent, f'.{osp.basename(out_dir)}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}')
    os.makedirs(tmp)
    try:
        meta = write(tmp)
        _replace_dir(tmp, out_dir, overwrite, generator)
    finally:
        if osp.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return _summary(out_dir, meta, True)


def generate_synthetic_refrs(out_dir: str, num_images: int = 200, image_size: int = 128,
                             objects_per_image: Tuple[int, int] = (3, 6), seed: int = 0,
                             splits: Sequence[float] = (0.7, 0.1, 0.2),
                             image_suffix: str = '.png', overwrite: bool = False,
                             sentences_per_object: Tuple[int, int] = (2, 3),
                             link_images: bool = True, extra_train_images: int = 0) -> Dict:
    """Generate a synthetic remote-sensing referring dataset in RefDIOR layout.

    Args:
        out_dir: target directory (created; see ``overwrite``).
        num_images: number of scenes; each yields ``objects_per_image`` referents.
        image_size: side of the square images in px (>= 64).
        objects_per_image: (min, max) objects per scene.
        seed: everything is a deterministic function of the parameters.
        splits: (train, val, test) ratios of scenes; split by scene.
        image_suffix: '.png' (lossless, default) or '.jpg'.
        overwrite: replace an existing non-empty ``out_dir`` (only if it is a
            synthetic dataset).
        sentences_per_object: (min, max) expressions per object.
        link_images: store the extra per-object copies of a scene image as hard
            links (falls back to copies where links are not supported).
        extra_train_images: scenes added to train after the ``num_images`` split ones
            (scene ``num_images + j`` uses stream ``[seed, 0, num_images + j]``), so the
            training set grows while val and test stay the same scenes.

    Returns:
        The summary: ``meta.json``'s content plus ``out_dir`` and ``generated``.
    """
    params = _normalise_params(num_images, image_size, objects_per_image, seed, splits,
                               image_suffix, sentences_per_object, extra_train_images)
    return write_atomically(out_dir, overwrite,
                            lambda tmp: _write_dataset(tmp, params, link_images))


@contextlib.contextmanager
def file_lock(path: str):
    """Exclusive inter-process lock on ``path`` (no-op where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: rely on the atomic rename
        yield
        return
    with open(path, 'a+') as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def ensure_dataset(out_dir: str, params: Dict, generate: Callable[[], Dict],
                   generator: str = GENERATOR) -> Dict:
    """Return the summary of ``out_dir`` if its ``meta.json`` (by ``generator``) records
    ``params``; otherwise call ``generate()`` (which must replace ``out_dir``) under the
    inter-process lock ``<out_dir>.lock``, unless another process did it meanwhile."""
    out_dir = osp.abspath(out_dir)

    def current():
        meta = read_meta(out_dir, generator)
        return meta if meta is not None and meta.get('params') == params else None

    meta = current()
    if meta is not None:
        return _summary(out_dir, meta, False)
    os.makedirs(osp.dirname(out_dir), exist_ok=True)
    with file_lock(out_dir + '.lock'):
        meta = current()  # another process may have finished meanwhile
        if meta is not None:
            return _summary(out_dir, meta, False)
        return generate()


def ensure_synthetic_refrs(out_dir: str, **kwargs) -> Dict:
    """Generate ``out_dir`` unless its ``meta.json`` has the same parameters.

    Takes ``generate_synthetic_refrs``'s keyword arguments (not ``overwrite``:
    a stale synthetic dataset is replaced, anything else is never deleted).
    Safe when several processes call it at once: they serialise on
    ``<out_dir>.lock`` and the dataset appears atomically. Returns the summary,
    with ``generated`` False when the existing dataset was reused.
    """
    if 'overwrite' in kwargs:
        raise TypeError('ensure_synthetic_refrs: overwrite is decided automatically')
    link_images = kwargs.pop('link_images', True)
    defaults = dict(num_images=200, image_size=128, objects_per_image=(3, 6), seed=0,
                    splits=(0.7, 0.1, 0.2), image_suffix='.png',
                    sentences_per_object=(2, 3), extra_train_images=0)
    unknown = set(kwargs) - set(defaults)
    if unknown:
        raise TypeError(f'ensure_synthetic_refrs: unknown arguments {sorted(unknown)}')
    defaults.update(kwargs)
    params = _normalise_params(**defaults)
    return ensure_dataset(
        out_dir, params, lambda: generate_synthetic_refrs(
            out_dir, overwrite=True, link_images=link_images, **defaults))
