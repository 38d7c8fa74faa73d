"""Common machinery of every referring dataset: one sample per (image, expression, target).

A subclass only parses its on-disk format into *ref records* (:meth:`load_refs`); this class
validates them (skip-and-count bad records, ONE warning line per dataset), expands them into
samples and, in training mode, picks one expression per ref each time a sample is fetched.

A ref record is a dict with
    ``img_path`` (str), ``img_id``, ``ref_id``, ``height``/``width`` (int, optional),
    ``bbox`` ([x1, y1, x2, y2] in pixels, or None to derive it from the mask when loaded),
    ``mask`` (COCO polygons ``[[x, y, ...], ...]``, an RLE dict, a mask file path, or None),
    ``box_only`` (bool), ``category`` (str, '' if unknown),
    ``sentences`` (list of ``(sent_id, text)``),
    ``extra_info`` (dict, optional: more per-ref keys copied into each sample, e.g. a
    ``shape_family`` that the metric can break scores down by).
Generalized referring (no-target / multi-target expressions) adds
    ``no_target`` (bool, optional: the expression refers to nothing; ``bbox``/``mask`` absent
    or None) and ``objects`` (list of ``dict(bbox=..., mask=...)``, optional: one per target,
    same conventions as ``bbox``/``mask``; when absent the single ``bbox``/``mask`` is the one
    target, and ``objects=[]`` means no target). Records with zero or several targets need
    ``generalized=True``.

No paper part; docs/datasets.md (top, "Bad input", "Common options") and docs/design.md §1.
"""
import logging
import os
import os.path as osp
import random
from collections import Counter
from typing import Dict, Iterable, List, Optional

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from .mask_io import mask_annotation_area


def require_path(path: str, what: str = 'file') -> str:
    """Return ``path``; raise ``FileNotFoundError`` naming it when it does not exist."""
    if not osp.exists(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    return path


def read_image_size(path: str):
    """``(height, width)`` from the image header (PIL, no full decode).

    Raises:
        FileNotFoundError / OSError naming ``path`` when it is missing or unreadable.
    """
    from PIL import Image
    require_path(path, 'image file')
    try:
        with Image.open(path) as im:
            w, h = im.size
    except Exception as e:  # noqa: BLE001 - re-raised with the path
        raise OSError(f'cannot read image {path}: {e}') from e
    return int(h), int(w)


class BaseReferringDataset(BaseDataset):
    """Base class of the RECS datasets.

    Args:
        sample_one_expression (bool): training mode: one sample per *ref*; each fetch picks one
            of its expressions at random (a fresh choice every epoch). False (evaluation): one
            sample per expression. Defaults to ``not test_mode``.
        min_mask_pixels (int): masks with fewer object pixels are degenerate (skipped when
            validated at init; an error naming the file when found at load time).
        bbox_tolerance (float): a box may exceed the image by this many pixels (it is then
            clipped); further out, or with zero width/height, the record is skipped.
        check_images (bool): read the header of every image whose size the annotations do not
            give (size + readability); errors name the file. Existence is always checked.
        validate_masks (bool): for datasets whose masks are files, read every mask at init and
            skip-and-count empty/degenerate ones (slow on big sets). When False they are checked
            when loaded by ``LoadRECSAnnotations``, which raises an error naming the file.
        mask_threshold (int): a mask-file pixel is object when its value is > this.
        generalized (bool): generalized referring: a ref may have zero (``no_target``) or
            several (``objects``) targets; a sample's ``instances`` then holds one entry per
            target and its data_info gets ``no_target`` (bool) and ``target_type`` (``'none'``,
            ``'single'``, ``'multi'``). False: such a record raises ``ValueError`` naming it.
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments.
    """
    # ``classes``: the one instance label (``bbox_label=0``) of every sample. ``category_names``:
    # the dataset's object categories as expressions write them (subclasses fill it in; the
    # fine-text template's default vocabulary, docs/design.md §3 "Fine text").
    METAINFO = dict(classes=('object', ), palette=[(220, 20, 60)], category_names=())
    MASK_FILES = False  # subclasses whose masks are files set True

    def __init__(self,
                 *args,
                 sample_one_expression: Optional[bool] = None,
                 min_mask_pixels: int = 3,
                 bbox_tolerance: float = 2.0,
                 check_images: bool = True,
                 validate_masks: bool = False,
                 mask_threshold: int = 0,
                 generalized: bool = False,
                 **kwargs):
        test_mode = kwargs.get('test_mode', False)
        self.sample_one_expression = (not test_mode if sample_one_expression is None else
                                      bool(sample_one_expression))
        self.min_mask_pixels = int(min_mask_pixels)
        self.bbox_tolerance = float(bbox_tolerance)
        self.check_images = bool(check_images)
        self.validate_masks = bool(validate_masks)
        self.mask_threshold = int(mask_threshold)
        self.generalized = bool(generalized)
        self.skip_counts: Counter = Counter()
        # the first few skipped records per reason, e.g. 'images/00002.jpg (ref 00002)'
        self.skip_examples: Dict[str, List[str]] = {}
        super().__init__(*args, **kwargs)

    MAX_SKIP_EXAMPLES = 5

    def skip(self, reason: str, name: str) -> None:
        """Count a skipped record under ``reason`` and keep its ``name`` among the first
        few (``skip_examples``, shown by ``tools/misc/check_dataset.py``)."""
        self.skip_counts[reason] += 1
        names = self.skip_examples.setdefault(reason, [])
        if len(names) < self.MAX_SKIP_EXAMPLES:
            names.append(str(name))

    def short_path(self, path) -> str:
        """``path`` relative to ``data_root`` when it lies below it."""
        path = str(path)
        root = osp.abspath(self.data_root) if self.data_root else ''
        if root and osp.abspath(path).startswith(root + os.sep):
            return osp.relpath(osp.abspath(path), root)
        return path

    def record_name(self, ref: Dict) -> str:
        """How a ref is named in skip reports: its image path and ref id."""
        return f'{self.short_path(ref.get("img_path"))} (ref {ref.get("ref_id")})'

    # ----------------------------------------------------------------- subclass API
    def load_refs(self) -> Iterable[Dict]:
        """Parse the on-disk format into ref records (see the module docstring)."""
        raise NotImplementedError

    def source_name(self) -> str:
        """What to call this dataset in messages (annotation file by default)."""
        return f'{type(self).__name__}({self.ann_file})'

    # ----------------------------------------------------------------- validation
    def _image_size(self, ref: Dict):
        """``(h, w)`` from the annotation, else from the image header when ``check_images``;
        a missing image file always raises ``FileNotFoundError`` naming it."""
        if ref.get('height') and ref.get('width'):
            require_path(ref['img_path'], 'image file')
            return int(ref['height']), int(ref['width'])
        if self.check_images:
            return read_image_size(ref['img_path'])
        require_path(ref['img_path'], 'image file')
        return None

    def _check_bbox(self, bbox, hw) -> Optional[List[float]]:
        """Clipped box, or None when degenerate or outside the image."""
        b = np.asarray(bbox, dtype=np.float64).reshape(-1)
        if b.size != 4 or not np.isfinite(b).all():
            return None
        x1, y1, x2, y2 = b.tolist()
        if hw is not None:
            h, w = hw
            t = self.bbox_tolerance
            if x1 < -t or y1 < -t or x2 > w + t or y2 > h + t:
                return None
            x1, x2 = min(max(x1, 0.0), w), min(max(x2, 0.0), w)
            y1, y2 = min(max(y1, 0.0), h), min(max(y2, 0.0), h)
        if x2 <= x1 or y2 <= y1:
            return None
        return [x1, y1, x2, y2]

    def _validate(self, ref: Dict, targets: Optional[List[Dict]] = None) -> Optional[str]:
        """Fill in the image size of ``ref`` and the box of each target (``[ref]`` by default)
        in place; return a skip reason or None if valid."""
        hw = self._image_size(ref)
        if hw is not None:
            ref['height'], ref['width'] = hw
        for obj in ([ref] if targets is None else targets):
            reason = self._validate_target(obj, hw, bool(ref.get('box_only')))
            if reason is not None:
                return reason
        return None

    def _validate_target(self, obj: Dict, hw, box_only: bool) -> Optional[str]:
        """Check one target's ``mask``/``bbox`` (filling a missing box from the mask)."""
        mask = obj.get('mask')
        if not box_only and mask is None:
            return 'missing mask'
        if not box_only and (not isinstance(mask, str) or self.validate_masks):
            try:
                area, mask_box = mask_annotation_area(mask, hw, self.mask_threshold)
            except ValueError:  # e.g. a mask file whose size differs from its image
                return 'unreadable mask or mask size differs from the image'
            if area < self.min_mask_pixels:
                return 'empty or degenerate mask'
            if obj.get('bbox') is None:
                obj['bbox'] = mask_box
        if obj.get('bbox') is not None:
            bbox = self._check_bbox(obj['bbox'], hw)
            if bbox is None:
                b = np.asarray(obj['bbox'], dtype=np.float64).reshape(-1)
                degenerate = b.size != 4 or b[2] <= b[0] or b[3] <= b[1]
                return 'degenerate bbox' if degenerate else 'bbox outside the image'
            obj['bbox'] = bbox
        elif box_only:
            return 'degenerate bbox'
        return None

    def _targets(self, ref: Dict) -> Optional[List[Dict]]:
        """The target objects of ``ref``: ``[ref]`` for a single-target record, else copies of
        its ``objects`` (``[]`` for no target); None when malformed (counted as skipped).

        Raises:
            ValueError: zero or several targets while ``generalized`` is False.
        """
        objects = ref.get('objects')
        if objects is None:
            targets = [] if ref.get('no_target') else [ref]
        elif not isinstance(objects, (list, tuple)) or not all(
                isinstance(o, dict) for o in objects):
            self.skip('malformed target objects', self.record_name(ref))
            return None
        elif ref.get('no_target') and objects:
            self.skip('no_target ref with target objects', self.record_name(ref))
            return None
        else:
            targets = [dict(o) for o in objects]
        if len(targets) != 1 and not self.generalized:
            kind = 'no target' if not targets else f'{len(targets)} targets'
            raise ValueError(
                f'{self.source_name()}: {self.record_name(ref)} has {kind}, but the dataset is '
                'not generalized (one target per expression): set generalized=True (e.g. '
                'configs/recs4r_tiny_synthetic_generalized.py)')
        return targets

    # ----------------------------------------------------------------- data list
    def load_data_list(self) -> List[dict]:
        self.skip_counts = Counter()
        self.skip_examples = {}
        data_list = []
        for ref in self.load_refs():
            targets = self._targets(ref)
            if targets is None:
                continue
            sentences = []
            for sent_id, text in ref.get('sentences', []):
                text = ' '.join(str(text).split()) if text is not None else ''
                if text:
                    sentences.append((sent_id, text))
                else:
                    self.skip('empty expression', self.record_name(ref))
            if not sentences:
                self.skip('ref without a valid expression', self.record_name(ref))
                continue
            reason = self._validate(ref, targets)
            if reason is not None:
                self.skip(reason, self.record_name(ref))
                continue
            base = dict(
                img_path=ref['img_path'],
                img_id=ref.get('img_id'),
                ref_id=ref.get('ref_id'),
                box_only=bool(ref.get('box_only', False)),
                category=str(ref.get('category') or ''),
                mask_threshold=self.mask_threshold,
                **ref.get('extra_info', {}),
                instances=[
                    dict(bbox=t.get('bbox'), bbox_label=0, mask=t.get('mask'), ignore_flag=0)
                    for t in targets
                ])
            if self.generalized:
                base['no_target'] = not targets
                base['target_type'] = ('none', 'single', 'multi')[min(len(targets), 2)]
            if ref.get('height'):
                base['height'], base['width'] = int(ref['height']), int(ref['width'])
            if self.sample_one_expression:
                info = dict(base, text=sentences[0][1], sent_id=sentences[0][0],
                            texts=[s[1] for s in sentences],
                            sent_ids=[s[0] for s in sentences])
                data_list.append(info)
            else:
                for sent_id, text in sentences:
                    data_list.append(dict(base, text=text, sent_id=sent_id))
        if self.skip_counts:
            total = sum(self.skip_counts.values())
            detail = ', '.join(f'{n} {k}' for k, n in sorted(self.skip_counts.items()))
            print_log(f'{self.source_name()}: skipped {total} bad record(s): {detail}',
                      logger='current', level=logging.WARNING)
        if not data_list:
            raise ValueError(f'{self.source_name()}: no valid sample found')
        return data_list

    def get_data_info(self, idx: int) -> dict:
        """The idx-th sample; in training mode with a freshly drawn expression."""
        info = super().get_data_info(idx)
        if self.sample_one_expression and len(info.get('texts', ())) > 1:
            k = random.randrange(len(info['texts']))
            info['text'], info['sent_id'] = info['texts'][k], info['sent_ids'][k]
        return info
