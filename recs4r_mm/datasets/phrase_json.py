"""The RECS4R framework's "phrase json" format (RefDIOR; the framework stores RefCOCO the same).

Layout::

    images/<id>.jpg
    masks/<id>.png              0/255, any non-zero pixel = object
    phrase_txts/{train,val,test}.json
        {"00007": {"bbox": [x1, y1, x2, y2], "sentences": ["...", ...]}, ...}

One key = one referred object; every sentence is its own evaluation sample.

No paper part; docs/datasets.md, section "RefDIOR (the RECS4R framework's "phrase json")".
"""
import json
from typing import Dict, Iterable

from mmengine.fileio import get_local_path

from recs4r_mm.registry import DATASETS
from .dior_rsvg import DIOR_CATEGORIES
from .folder_base import IdFolderDataset


@DATASETS.register_module()
class PhraseJsonDataset(IdFolderDataset):
    """General "phrase json" reader.

    Args:
        split (str): picks ``ann_file = f'phrase_txts/{split}.json'`` unless ``ann_file`` given.
        img_suffix / mask_suffix (str): file suffixes (``.jpg`` / ``.png``).
        **kwargs: see :class:`IdFolderDataset` and :class:`BaseReferringDataset`.

    Sentences may be strings or dicts with ``raw``/``sent``; a record may carry a category
    under ``category``/``class``/``category_name``; a record without ``bbox`` gets the mask's.
    """

    # Optional per-record keys passed through to each sample (the synthetic set writes them).
    EXTRA_KEYS = ('shape_family', 'color', 'scene_id')

    def __init__(self, data_root: str = '', split: str = 'train', ann_file: str = '',
                 **kwargs):
        self.split = split
        super().__init__(data_root=data_root, ann_file=ann_file or f'phrase_txts/{split}.json',
                         **kwargs)

    def load_refs(self) -> Iterable[Dict]:
        self.check_layout()
        with get_local_path(self.ann_file) as local, open(local) as f:
            try:
                records = json.load(f)
            except json.JSONDecodeError as e:
                raise ValueError(f'malformed annotation file {self.ann_file}: {e}') from e
        if not isinstance(records, dict):
            raise ValueError(f'malformed annotation file {self.ann_file}: expected a dict '
                             f'{{id: {{"bbox": ..., "sentences": [...]}}}}, got '
                             f'{type(records).__name__}')
        for rid, rec in records.items():
            if not isinstance(rec, dict):
                self.skip('malformed record', f'{self.short_path(self.ann_file)}: {rid}')
                continue
            sents = rec.get('sentences', rec.get('sentence', []))
            if isinstance(sents, str):
                sents = [sents]
            sentences = []
            for i, s in enumerate(sents):
                text = s.get('raw', s.get('sent')) if isinstance(s, dict) else s
                sentences.append((f'{rid}_{i}', text))
            category = rec.get('category', rec.get('class', rec.get('category_name', '')))
            yield dict(
                img_path=self.img_file(rid),
                img_id=rid,
                ref_id=rid,
                bbox=rec.get('bbox'),
                mask=self.mask_file(rid),
                box_only=False,
                category=category,
                extra_info={k: rec[k] for k in self.EXTRA_KEYS if k in rec},
                sentences=sentences)


@DATASETS.register_module()
class RefDIORDataset(PhraseJsonDataset):
    """RefDIOR (phrase json, 800x800 DIOR images): ``PhraseJsonDataset`` under its own name."""
    METAINFO = dict(PhraseJsonDataset.METAINFO, category_names=DIOR_CATEGORIES)
