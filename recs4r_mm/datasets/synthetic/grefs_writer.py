"""Write a synthetic *generalized* referring set in gRefCOCO's published layout.

    out_dir/
      images/<scene_id>.png     one image per scene
      instances.json            COCO: images, annotations (one per object; bbox xywh,
                                compressed RLE segmentation), categories
      grefs(unc).json           refs: ref_id, image_id, ann_id (list; [-1] = no target),
                                no_target, split, sentences, sent_ids, category_id (list),
                                file_name (+ ref_type, shape_family, description,
                                no_target_kind)
      vocab.txt                 the generalized WordPiece vocabulary
      meta.json                 parameters, counts per split and ref type (written last)

The scenes and single-target refs are the classic generator's (scene ``i`` uses
``[seed, 0, i]``); the multi-target and no-target refs come from the separate stream
``[seed, 2, i]``. Rates: in each split, after a scene's ``n`` objects have added their
single-target refs (``S`` so far), refs of type ``t`` are added up to
``round(S * rate_t / (1 - no_target_rate - multi_target_rate))`` as far as the scene has
candidates; a shortfall carries over to the next scenes of the split.

No paper part; docs/synthetic_data.md, section "Generalized set (no-target and multi-target)".
"""
import os
import os.path as osp
from collections import Counter
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

from .expressions import basic_tokens
from .group_expressions import NO_TARGET_KINDS, GroupDescriber
from .rle import encode_rle
from .scene import make_scene
from .shapes import CATEGORIES
from .vocab import write_vocab
from .writer import (SPLITS, check_common_params, dump_json, encode_image, ensure_dataset, id_width,
                     scene_splits, write_atomically, write_bytes)

GREFS_GENERATOR = 'recs4r_mm.synthetic_grefs'
GREFS_VERSION = '1.0'
REF_TYPES = ('single', 'multi', 'none')
GREFS_FILE = 'grefs(unc).json'
#: category name -> COCO category id (1-based, in ``CATEGORIES`` order)
CATEGORY_IDS = {name: k + 1 for k, name in enumerate(CATEGORIES)}
_DEFAULTS = dict(num_images=400, image_size=384, objects_per_image=(3, 6), seed=0,
                 splits=(0.7, 0.1, 0.2), no_target_rate=0.15, multi_target_rate=0.15,
                 sentences_per_object=(2, 3), extra_train_images=0)


def _normalise_params(num_images, image_size, objects_per_image, seed, splits, no_target_rate,
                      multi_target_rate, sentences_per_object, extra_train_images=0) -> Dict:
    params = check_common_params(num_images, image_size, objects_per_image, seed, splits,
                                 sentences_per_object, extra_train_images)
    r_none, r_multi = float(no_target_rate), float(multi_target_rate)
    if min(r_none, r_multi) < 0 or r_none + r_multi > 0.9:
        raise ValueError(f'no_target_rate and multi_target_rate must be >= 0 with a sum <= 0.9, '
                         f'got {no_target_rate} and {multi_target_rate}')
    params.update(no_target_rate=round(r_none, 6), multi_target_rate=round(r_multi, 6),
                  generator_version=GREFS_VERSION)
    return params


def _quota(n_single: int, rate: float, params: Dict) -> int:
    """Refs of a type with share ``rate`` due once ``n_single`` single-target refs exist."""
    single_share = 1.0 - params['no_target_rate'] - params['multi_target_rate']
    return int(np.floor(n_single * rate / single_share + 0.5))


def _ref(ref_id: int, image_id: int, split: str, file_name: str, sentences: Sequence[str],
         sent_id: int, ann_ids: List[int], category_ids: List[int], ref_type: str,
         shape_family: str, description=None, no_target_kind=None) -> Dict:
    sents = [dict(sent=s, raw=s, tokens=basic_tokens(s), sent_id=sent_id + k)
             for k, s in enumerate(sentences)]
    return dict(ref_id=ref_id, image_id=image_id, split=split, file_name=file_name,
                ann_id=ann_ids or [-1], category_id=category_ids or [-1],
                no_target=not ann_ids, sentences=sents,
                sent_ids=[s['sent_id'] for s in sents], ref_type=ref_type,
                shape_family=shape_family, description=description,
                no_target_kind=no_target_kind)


def _write_grefs(root: str, params: Dict) -> Dict:
    """Generate every scene and write the layout under ``root`` (must exist)."""
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    n, size, seed = params['num_images'], params['image_size'], params['seed']
    n_sent = tuple(params['sentences_per_object'])
    split_of = scene_splits(n, params['splits'], seed, params.get('extra_train_images', 0))
    width = id_width(params)
    images, anns, refs = [], [], []
    n_refs = {s: Counter() for s in SPLITS}
    n_sents = {s: Counter() for s in SPLITS}
    kinds = {s: Counter() for s in SPLITS}
    categories, n_scenes, n_objects = Counter(), Counter(), Counter()
    for i in range(len(split_of)):
        scene = make_scene(np.random.default_rng([seed, 0, i]), size,
                           tuple(params['objects_per_image']), n_sent)
        split, file_name = split_of[i], f's{i:0{width}d}.png'
        write_bytes(osp.join(root, 'images', file_name),
                    encode_image(cv2.cvtColor(scene.image, cv2.COLOR_RGB2BGR), '.png'))
        images.append(dict(id=i, file_name=file_name, height=size, width=size))
        n_scenes[split] += 1
        ann_ids = []
        for o in scene.objects:
            mask = o.full_mask(size)
            x1, y1, x2, y2 = (int(v) for v in o.bbox)
            ann_ids.append(len(anns))
            anns.append(dict(id=len(anns), image_id=i, category_id=CATEGORY_IDS[o.category],
                             bbox=[x1, y1, x2 - x1, y2 - y1], area=int(mask.sum()),
                             segmentation=encode_rle(mask), iscrowd=0, color=o.color,
                             shape=o.attrs.get('shape'), shape_family=o.family))
            categories[o.category] += 1

        def add(sentences, targets, ref_type, family, desc=None, kind=None):
            sent_id = refs[-1]['sent_ids'][-1] + 1 if refs else 0
            refs.append(_ref(len(refs), i, split, file_name, sentences, sent_id,
                             [ann_ids[t] for t in targets],
                             [CATEGORY_IDS[scene.objects[t].category] for t in targets],
                             ref_type, family, desc, kind))
            n_refs[split][ref_type] += 1
            n_sents[split][ref_type] += len(sentences)

        for t, o in enumerate(scene.objects):
            add(o.sentences, [t], 'single', o.family)
        n_objects[split] += len(scene.objects)
        used = {s for o in scene.objects for s in o.sentences}
        groups = GroupDescriber(scene.objects, size, np.random.default_rng([seed, 2, i]))
        want = _quota(n_refs[split]['single'], params['multi_target_rate'], params)
        for g in groups.multi_target(want - n_refs[split]['multi'], n_sent, used):
            add(g.sentences, list(g.targets), 'multi', 'multi', g.desc.as_dict())
        want = _quota(n_refs[split]['single'], params['no_target_rate'], params)
        for g in groups.no_target(want - n_refs[split]['none'], n_sent, used):
            add(g.sentences, [], 'none', 'none', g.desc.as_dict(), g.kind)
            kinds[split][g.kind] += 1
    dump_json(osp.join(root, 'instances.json'), dict(
        info=dict(description='synthetic remote-sensing generalized referring set',
                  generator=GREFS_GENERATOR, version=GREFS_VERSION),
        images=images, annotations=anns,
        categories=[dict(id=cid, name=name, supercategory=CATEGORIES[name].family)
                    for name, cid in CATEGORY_IDS.items()]))
    dump_json(osp.join(root, GREFS_FILE), refs)
    vocab_size = write_vocab(osp.join(root, 'vocab.txt'), generalized=True)
    meta = dict(
        generator=GREFS_GENERATOR, params=params, layout='grefcoco', vocab_size=vocab_size,
        num_scenes={s: n_scenes[s] for s in SPLITS},
        num_objects={s: n_objects[s] for s in SPLITS},
        num_refs={s: {t: n_refs[s][t] for t in REF_TYPES} for s in SPLITS},
        num_sentences={s: {t: n_sents[s][t] for t in REF_TYPES} for s in SPLITS},
        no_target_kinds={s: {k: kinds[s][k] for k in NO_TARGET_KINDS} for s in SPLITS},
        categories=dict(sorted(categories.items())))
    dump_json(osp.join(root, 'meta.json'), meta)
    return meta


def generate_synthetic_grefs(out_dir: str, num_images: int = 400, image_size: int = 384,
                             objects_per_image: Tuple[int, int] = (3, 6), seed: int = 0,
                             splits: Sequence[float] = (0.7, 0.1, 0.2),
                             no_target_rate: float = 0.15, multi_target_rate: float = 0.15,
                             sentences_per_object: Tuple[int, int] = (2, 3),
                             overwrite: bool = False, extra_train_images: int = 0) -> Dict:
    """Generate a synthetic generalized referring set in gRefCOCO's layout.

    Args:
        out_dir: target directory (created; see ``overwrite``).
        num_images: number of scenes.
        image_size: side of the square images in px (>= 64).
        objects_per_image: (min, max) objects per scene.
        seed: everything is a deterministic function of the parameters.
        splits: (train, val, test) ratios of scenes; split by scene.
        no_target_rate: share of each split's refs that refer to nothing.
        multi_target_rate: share of each split's refs that refer to >= 2 objects (both
            approximate: a scene adds what it can, a shortfall carries over in the split).
        sentences_per_object: (min, max) expressions per ref (multi/no-target refs may
            get fewer when their description has fewer distinct wordings).
        overwrite: replace an existing non-empty ``out_dir`` (only if this generator
            wrote it).
        extra_train_images: scenes added to train after the ``num_images`` split ones;
            val and test stay the same.

    Returns:
        The summary: ``meta.json``'s content plus ``out_dir`` and ``generated``.
    """
    params = _normalise_params(num_images, image_size, objects_per_image, seed, splits,
                               no_target_rate, multi_target_rate, sentences_per_object,
                               extra_train_images)
    return write_atomically(out_dir, overwrite, lambda tmp: _write_grefs(tmp, params),
                            GREFS_GENERATOR)


def ensure_synthetic_grefs(out_dir: str, **kwargs) -> Dict:
    """Generate ``out_dir`` unless its ``meta.json`` has the same parameters.

    Takes ``generate_synthetic_grefs``'s keyword arguments (not ``overwrite``: a stale
    generalized set is replaced, anything else is never deleted). Concurrent callers
    serialise on ``<out_dir>.lock``. Returns the summary, with ``generated`` False when
    the existing set was reused.
    """
    if 'overwrite' in kwargs:
        raise TypeError('ensure_synthetic_grefs: overwrite is decided automatically')
    unknown = set(kwargs) - set(_DEFAULTS)
    if unknown:
        raise TypeError(f'ensure_synthetic_grefs: unknown arguments {sorted(unknown)}')
    args = dict(_DEFAULTS, **kwargs)
    params = _normalise_params(**args)
    return ensure_dataset(
        out_dir, params, lambda: generate_synthetic_grefs(out_dir, overwrite=True, **args),
        GREFS_GENERATOR)
