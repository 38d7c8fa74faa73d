"""Refer-layout datasets: RefCOCO / RefCOCO+ / RefCOCOg and RRSIS-D (refer style).

Layout (``data_root`` relative)::

    refcoco/refs(unc).p        (refcocog: refs(umd).p; RRSIS-D: rrsisd/refs(unc).p)
    refcoco/instances.json     COCO json: images (file_name, height, width), annotations
                               (segmentation, bbox, category_id), categories
    train2014/                 images (RRSIS-D: images/rrsisd/JPEGImages/)

Each ref has ``ref_id``, ``ann_id``, ``image_id``, ``split`` and ``sentences`` (dicts with ``raw``
/ ``sent`` and ``sent_id``).

No paper part; docs/datasets.md, sections "RefCOCO / RefCOCO+ / RefCOCOg (refer layout)" and
"RRSIS-D, refer layout".
"""
import json
import os.path as osp
import pickle
from typing import Dict, Iterable, List, Optional, Tuple

from mmengine.fileio import get_local_path

from recs4r_mm.registry import DATASETS
from .base_referring import BaseReferringDataset, require_path
from .dior_rsvg import DIOR_CATEGORIES
from .mask_io import unwrap_segmentation

#: COCO's 80 object categories (RefCOCO, RefCOCO+, RefCOCOg), as expressions write them.
COCO_CATEGORIES = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
    'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat',
    'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack',
    'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball',
    'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket',
    'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
    'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair',
    'couch', 'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse',
    'remote', 'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink',
    'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier',
    'toothbrush')


def load_refs_pickle(path: str):
    """Load a refer ``refs(*).p`` pickle (also Python-2 pickles)."""
    with get_local_path(path) as local, open(local, 'rb') as f:
        try:
            try:
                refs = pickle.load(f)
            except UnicodeDecodeError:
                f.seek(0)
                refs = pickle.load(f, encoding='latin1')
        except Exception as e:  # noqa: BLE001 - re-raised naming the file
            raise ValueError(f'malformed refs file {path}: {e!r}') from e
    if not isinstance(refs, list) or not all(isinstance(r, dict) for r in refs):
        raise ValueError(f'malformed refs file {path}: expected a list of ref dicts')
    return refs


@DATASETS.register_module()
class ReferDataset(BaseReferringDataset):
    """Refer-layout dataset (RefCOCO, RefCOCO+, RefCOCOg).

    Args:
        data_root (str): root for ``ann_file``, ``split_file`` and ``data_prefix``.
        ann_file (str): COCO ``instances.json``.
        split_file (str): ``refs(unc).p`` / ``refs(umd).p`` / ``refs(google).p``.
        split (str): ``train``, ``val``, ``testA``, ``testB`` (umd: ``test``).
        data_prefix (dict): ``dict(img_path='train2014/')``.
        bbox_format (str): annotation ``bbox`` layout, ``'xywh'`` (COCO) or ``'xyxy'``.
        text_key (str): sentence field to use (``'raw'``; falls back to ``'sent'``).
        **kwargs: :class:`BaseReferringDataset` / mmengine ``BaseDataset`` arguments.
    """
    METAINFO = dict(BaseReferringDataset.METAINFO, category_names=COCO_CATEGORIES)

    def __init__(self,
                 data_root: str = '',
                 ann_file: str = 'refcoco/instances.json',
                 split_file: str = 'refcoco/refs(unc).p',
                 split: str = 'train',
                 data_prefix: Optional[dict] = None,
                 bbox_format: str = 'xywh',
                 text_key: str = 'raw',
                 **kwargs):
        if bbox_format not in ('xywh', 'xyxy'):
            raise ValueError(f"bbox_format must be 'xywh' or 'xyxy', got {bbox_format!r}")
        self.split_file = split_file
        self.split = split
        self.bbox_format = bbox_format
        self.text_key = text_key
        super().__init__(
            data_root=data_root,
            ann_file=ann_file,
            data_prefix=data_prefix or dict(img_path='train2014/'),
            **kwargs)

    def _join_prefix(self):
        if self.split_file and not osp.isabs(self.split_file) and self.data_root:
            self.split_file = osp.join(self.data_root, self.split_file)
        super()._join_prefix()

    def source_name(self) -> str:
        return f'{type(self).__name__}({self.split_file}, split={self.split})'

    @staticmethod
    def _category(ann: Dict, ref: Dict, names: Dict) -> str:
        for d in (ref, ann):
            for key in ('category_id', 'categories_id'):
                if d.get(key) is not None:
                    return names.get(d[key], str(d[key]))
        return ''

    def _bbox_xyxy(self, bbox):
        if bbox is None or len(bbox) != 4:
            return bbox
        x, y, a, b = [float(v) for v in bbox]
        return [x, y, x + a, y + b] if self.bbox_format == 'xywh' else [x, y, a, b]

    def _coco_index(self) -> Tuple[Dict, Dict, Dict]:
        """``ann_file`` (COCO json) as images and annotations by id, category names by id."""
        with get_local_path(self.ann_file) as local, open(local) as f:
            try:
                coco = json.load(f)
            except json.JSONDecodeError as e:
                raise ValueError(f'malformed annotation file {self.ann_file}: {e}') from e
        for key in ('images', 'annotations'):
            if not isinstance(coco, dict) or key not in coco:
                raise ValueError(f'malformed annotation file {self.ann_file}: no "{key}"')
        images = {img['id']: img for img in coco['images']}
        anns = {ann['id']: ann for ann in coco['annotations']}
        names = {c['id']: c.get('name', str(c['id'])) for c in coco.get('categories', [])}
        return images, anns, names

    def _check_split(self, refs: List[Dict]) -> None:
        """Raise ``ValueError`` naming the refs file when no ref is in ``self.split``."""
        splits = sorted({str(r.get('split')) for r in refs})
        if self.split not in splits:
            raise ValueError(f'split "{self.split}" not in {self.split_file} '
                             f'(splits there: {splits})')

    def _sentences(self, ref: Dict) -> List[Tuple]:
        """A ref's ``(sent_id, text)`` pairs (``text_key`` of each sentence dict)."""
        sentences = []
        for i, s in enumerate(ref.get('sentences', [])):
            text = s.get(self.text_key, s.get('sent')) if isinstance(s, dict) else s
            sent_id = s.get('sent_id', i) if isinstance(s, dict) else i
            sentences.append((sent_id, text))
        return sentences

    def _load_refs_file(self) -> List[Dict]:
        """The refs of ``split_file`` (every split)."""
        return load_refs_pickle(self.split_file)

    def _split_refs(self) -> Iterable[Tuple[Dict, str, Dict, Dict, Dict]]:
        """Check the paths, read the refs and the COCO index, and yield ``(ref, image
        directory, images, anns, category names)`` for each ref of ``split``."""
        require_path(self.data_root or '.', 'data_root directory')
        require_path(self.ann_file, 'annotation file')
        require_path(self.split_file, 'refs split file')
        img_dir = self.data_prefix.get('img_path', '')
        require_path(img_dir, 'image directory')
        refs = self._load_refs_file()
        images, anns, names = self._coco_index()
        self._check_split(refs)
        for ref in refs:
            if ref.get('split') == self.split:
                yield ref, img_dir, images, anns, names

    def load_refs(self) -> Iterable[Dict]:
        for ref, img_dir, images, anns, names in self._split_refs():
            ann = anns.get(ref.get('ann_id'))
            img = images.get(ref.get('image_id'))
            if ann is None or img is None:
                self.skip('ref pointing at a missing annotation/image',
                          f'{self.short_path(self.split_file)}: ref {ref.get("ref_id")}')
                continue
            sentences = self._sentences(ref)
            yield dict(
                img_path=osp.join(img_dir, img['file_name']),
                img_id=img['id'],
                ref_id=ref.get('ref_id'),
                height=img.get('height'),
                width=img.get('width'),
                bbox=self._bbox_xyxy(ann.get('bbox')),
                mask=unwrap_segmentation(ann.get('segmentation')),
                box_only=False,
                category=self._category(ann, ref, names),
                sentences=sentences)


@DATASETS.register_module()
class RRSISDDataset(ReferDataset):
    """RRSIS-D in its refer layout (``rrsisd/refs(unc).p``, ``rrsisd/instances.json``, images
    in ``images/rrsisd/JPEGImages``).

    Quirks handled: ``segmentation`` is a list holding one RLE dict (unwrapped), ``bbox`` is
    x1y1x2y2 (``bbox_format='xyxy'``), the category key may be spelled ``categories_id``.
    RRSIS-D is built on RSVGD (DIOR-RSVG) and keeps DIOR's categories.
    """
    METAINFO = dict(ReferDataset.METAINFO, category_names=DIOR_CATEGORIES)

    def __init__(self,
                 data_root: str = '',
                 ann_file: str = 'rrsisd/instances.json',
                 split_file: str = 'rrsisd/refs(unc).p',
                 split: str = 'train',
                 data_prefix: Optional[dict] = None,
                 bbox_format: str = 'xyxy',
                 **kwargs):
        super().__init__(
            data_root=data_root,
            ann_file=ann_file,
            split_file=split_file,
            split=split,
            data_prefix=data_prefix or dict(img_path='images/rrsisd/JPEGImages/'),
            bbox_format=bbox_format,
            **kwargs)
