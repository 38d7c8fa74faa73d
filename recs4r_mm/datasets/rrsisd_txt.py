"""RRSIS-D in the RECS4R framework's layout (the RECS variant).

Layout::

    images/<id>.jpg
    masks/<id>.png
    phrase_txts/{trainval_mbr,test_mbr}.txt   lines "<id> x1 y1 x2 y2 <expression ...>"

The boxes are the masks' bounding rectangles. Lines sharing an id (and box) form one ref.
"""
from collections import OrderedDict
from typing import Dict, Iterable

from mmengine.fileio import get_local_path

from recs4r_mm.registry import DATASETS
from .folder_base import IdFolderDataset


@DATASETS.register_module()
class RRSISDTxtDataset(IdFolderDataset):
    """RRSIS-D, phrase-txt layout.

    Args:
        split (str): ``'trainval_mbr'`` or ``'test_mbr'``; sets
            ``ann_file = f'phrase_txts/{split}.txt'`` unless ``ann_file`` is given.
        **kwargs: see :class:`IdFolderDataset` and :class:`BaseReferringDataset`.
    """

    def __init__(self, data_root: str = '', split: str = 'trainval_mbr', ann_file: str = '',
                 **kwargs):
        self.split = split
        super().__init__(data_root=data_root, ann_file=ann_file or f'phrase_txts/{split}.txt',
                         **kwargs)

    def load_refs(self) -> Iterable[Dict]:
        self.check_layout()
        refs: 'OrderedDict' = OrderedDict()
        with get_local_path(self.ann_file) as local, open(local, encoding='utf-8') as f:
            for lineno, line in enumerate(f, 1):
                fields = line.split()
                if not fields:
                    continue
                try:
                    rid = fields[0]
                    box = tuple(float(v) for v in fields[1:5])
                    if len(box) != 4:
                        raise ValueError
                except ValueError:
                    self.skip_counts['malformed line'] += 1
                    continue
                ref = refs.setdefault((rid, box), dict(
                    img_path=self.img_file(rid), img_id=rid, ref_id=rid, bbox=list(box),
                    mask=self.mask_file(rid), box_only=False, category='', sentences=[]))
                ref['sentences'].append((f'{rid}_{lineno}', ' '.join(fields[5:])))
        yield from refs.values()
