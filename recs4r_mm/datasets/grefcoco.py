"""gRefCOCO (generalized referring: no-target and multi-target expressions).

Layout (``data_root`` relative)::

    grefcoco/grefs(unc).json   list of refs (``grefs(unc).p`` pickles are read too)
    grefcoco/instances.json    COCO json: images, annotations (segmentation, bbox xywh), categories
    images/train2014/          COCO train2014 images

A ref has ``ref_id``, ``image_id``, ``split``, ``sentences`` (dicts with ``raw``/``sent`` and
``sent_id``), ``ann_id`` (a list of COCO annotation ids, ``[-1]`` or ``[]`` when the expression
refers to nothing), ``no_target`` (bool) and ``category_id`` (int or list).

No paper part; docs/datasets.md, section "gRefCOCO (generalized: no-target and multi-target)".
"""
import json
import os.path as osp
from typing import Dict, Iterable, List, Optional

from mmengine.fileio import get_local_path

from recs4r_mm.registry import DATASETS
from .mask_io import unwrap_segmentation
from .refer import ReferDataset, load_refs_pickle


def load_json_file(path: str, what: str):
    """Load a JSON file; malformed JSON raises ``ValueError`` naming it."""
    with get_local_path(path) as local, open(local) as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f'malformed {what} {path}: {e}') from e


@DATASETS.register_module()
class GRefCOCODataset(ReferDataset):
    """gRefCOCO in its published layout (``grefs(unc).json`` + COCO ``instances.json``).

    Each sample holds one instance per target (none for a no-target expression) and the
    data_info keys ``no_target``/``target_type`` (see :class:`BaseReferringDataset`, which this
    builds on through :class:`ReferDataset`). Crowd annotations (``iscrowd=1``) are not targets
    (as in the GRES reference loader); a ref whose targets are all crowd is skipped.

    Args:
        data_root (str): root for ``ann_file``, ``split_file`` and ``data_prefix``.
        ann_file (str): COCO ``instances.json``.
        split_file (str): ``grefs(unc).json`` (or ``.p``).
        split (str): ``train``, ``val``, ``testA``, ``testB``.
        data_prefix (dict): ``dict(img_path='images/train2014/')``.
        generalized (bool): keep True (no-target/multi-target refs raise ``ValueError``
            otherwise).
        **kwargs: :class:`ReferDataset` (``bbox_format``, ``text_key``) and
            :class:`BaseReferringDataset` arguments.
    """

    def __init__(self,
                 data_root: str = '',
                 ann_file: str = 'grefcoco/instances.json',
                 split_file: str = 'grefcoco/grefs(unc).json',
                 split: str = 'train',
                 data_prefix: Optional[dict] = None,
                 generalized: bool = True,
                 **kwargs):
        super().__init__(
            data_root=data_root,
            ann_file=ann_file,
            split_file=split_file,
            split=split,
            data_prefix=data_prefix or dict(img_path='images/train2014/'),
            generalized=generalized,
            **kwargs)

    def _load_refs_file(self) -> List[Dict]:
        if self.split_file.endswith('.p'):
            return load_refs_pickle(self.split_file)
        refs = load_json_file(self.split_file, 'refs file')
        if not isinstance(refs, list) or not all(isinstance(r, dict) for r in refs):
            raise ValueError(f'malformed refs file {self.split_file}: expected a JSON list of '
                             'ref dicts')
        return refs

    @staticmethod
    def _ann_ids(ref: Dict) -> List:
        ids = ref.get('ann_id')
        ids = ids if isinstance(ids, (list, tuple)) else [ids]
        return [i for i in ids if i is not None and i != -1]

    def _target_anns(self, ref: Dict, anns: Dict, name: str) -> Optional[List[Dict]]:
        """The non-crowd annotations ``ref`` points at; None (counted) when inconsistent."""
        ids = self._ann_ids(ref)
        if bool(ref.get('no_target', not ids)) != (not ids):
            self.skip('no_target flag disagrees with ann_id', name)
            return None
        if any(i not in anns for i in ids):
            self.skip('ref pointing at a missing annotation/image', name)
            return None
        if any(anns[i].get('image_id') != ref.get('image_id') for i in ids):
            self.skip('ref annotation on another image', name)
            return None
        targets = [anns[i] for i in ids if not anns[i].get('iscrowd')]
        if ids and not targets:
            self.skip('ref whose targets are all crowd annotations', name)
            return None
        return targets

    def load_refs(self) -> Iterable[Dict]:
        for ref, img_dir, images, anns, names in self._split_refs():
            name = f'{self.short_path(self.split_file)}: ref {ref.get("ref_id")}'
            img = images.get(ref.get('image_id'))
            if img is None:
                self.skip('ref pointing at a missing annotation/image', name)
                continue
            targets = self._target_anns(ref, anns, name)
            if targets is None:
                continue
            sentences = self._sentences(ref)
            yield dict(
                img_path=osp.join(img_dir, img['file_name']),
                img_id=img['id'],
                ref_id=ref.get('ref_id'),
                height=img.get('height'),
                width=img.get('width'),
                no_target=not targets,
                objects=[
                    dict(bbox=self._bbox_xyxy(a.get('bbox')),
                         mask=unwrap_segmentation(a.get('segmentation'))) for a in targets
                ],
                box_only=False,
                category=self._category(targets[0], {}, names) if targets else '',
                extra_info=dict(target_type=('none', 'single', 'multi')[min(len(targets), 2)],
                                ann_ids=[a['id'] for a in targets]),
                sentences=sentences)
