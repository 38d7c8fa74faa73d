"""RRSIS-D in its txt layouts: the RECS4R framework's RECS variant and the RSFM family's.

No paper part; docs/datasets.md, sections "RRSIS-D, RECS framework layout" and "RRSIS-D,
RSFM-family layout".

Layout (``data_root`` relative)::

    images/<id>.jpg
    masks/<id>.png
    phrase_txts/trainval_mbr.txt, test_mbr.txt      "<id> x1 y1 x2 y2 <expression ...>"  (RECS)
    phrase_txts/output_phrase_{train,val,test}.txt  "<id> <expression ...>"              (RSFM)

RECS-variant boxes are the masks' bounding rectangles; lines without a box get the mask's
bounding rectangle when the mask is loaded (or at init with ``validate_masks=True``). Lines
sharing an id (and box) form one ref.

Which lines carry a box (``with_box``):

* ``True``: every line is ``<id> x1 y1 x2 y2 <expression>``; a line whose fields 1-4 are not
  numbers is skipped and counted as a malformed line. The default for ``*_mbr.txt`` files.
* ``False``: no line has a box; everything after the id is the expression.
* ``None`` (auto, the default for other files): per line, fields 1-4 are a box only when the
  line has at least 5 fields, all four parse as finite numbers and ``x2 > x1``, ``y2 > y1``;
  otherwise they are the start of the expression. So "2 ships near 3 tanks" or "12 34 10 50
  planes" (``x2 < x1``) are expressions, but an expression starting with four increasing
  numbers such as "1 2 3 4 cars" would be read as a box: pass ``with_box=False`` for files
  known to hold no boxes.
"""
import math
import os.path as osp
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional

from mmengine.fileio import get_local_path

from recs4r_mm.registry import DATASETS
from .dior_rsvg import DIOR_CATEGORIES
from .folder_base import IdFolderDataset

#: split names of the RSFM-family layout: phrase_txts/output_phrase_{split}.txt
RSFM_SPLITS = ('train', 'val', 'test')


def parse_box(fields: List[str]) -> Optional[List[float]]:
    """``fields[1:5]`` as ``[x1, y1, x2, y2]`` when they are 4 finite numbers, else None."""
    if len(fields) < 5:
        return None
    try:
        box = [float(v) for v in fields[1:5]]
    except ValueError:
        return None
    return box if all(math.isfinite(v) for v in box) else None


@DATASETS.register_module()
class RRSISDTxtDataset(IdFolderDataset):
    """RRSIS-D, phrase-txt layouts.

    Args:
        split (str): ``'trainval_mbr'`` / ``'test_mbr'`` (RECS variant: ``phrase_txts/{split}.txt``)
            or ``'train'`` / ``'val'`` / ``'test'`` (RSFM family:
            ``phrase_txts/output_phrase_{split}.txt``, else ``output_phrase_{split}.txt`` at
            ``data_root``). Ignored for the file name when ``ann_file`` is given.
        with_box (bool, optional): whether lines carry ``x1 y1 x2 y2`` after the id; None
            decides per line (see the module docstring). Defaults to True for ``*_mbr.txt``
            annotation files and None otherwise.
        **kwargs: see :class:`IdFolderDataset` and :class:`BaseReferringDataset`.
    """
    # RRSIS-D is built on RSVGD (DIOR-RSVG) and keeps its categories
    METAINFO = dict(IdFolderDataset.METAINFO, category_names=DIOR_CATEGORIES)

    def __init__(self, data_root: str = '', split: str = 'trainval_mbr', ann_file: str = '',
                 with_box: Optional[bool] = None, **kwargs):
        self.split = split
        if not ann_file:
            if split in RSFM_SPLITS:
                ann_file = self.pick_ann_file(data_root, [
                    f'phrase_txts/output_phrase_{split}.txt', f'output_phrase_{split}.txt'])
            else:
                ann_file = f'phrase_txts/{split}.txt'
        if with_box is None and osp.basename(ann_file).endswith('_mbr.txt'):
            with_box = True
        self.with_box = with_box
        super().__init__(data_root=data_root, ann_file=ann_file, **kwargs)

    def _split_line(self, fields: List[str]):
        """``(box or None, expression words)``; raises ValueError for a malformed line."""
        if self.with_box is False:
            return None, fields[1:]
        box = parse_box(fields)
        if self.with_box:
            if box is None:
                raise ValueError('no box')
            return box, fields[5:]
        if box is not None and box[2] > box[0] and box[3] > box[1]:
            return box, fields[5:]
        return None, fields[1:]

    def load_refs(self) -> Iterable[Dict]:
        self.check_layout()
        refs: 'OrderedDict' = OrderedDict()
        with get_local_path(self.ann_file) as local, open(local, encoding='utf-8') as f:
            for lineno, line in enumerate(f, 1):
                fields = line.split()
                if not fields:
                    continue
                rid = fields[0]
                try:
                    box, words = self._split_line(fields)
                except ValueError:
                    self.skip('malformed line', f'{self.short_path(self.ann_file)}:{lineno}')
                    continue
                key = (rid, tuple(box) if box is not None else None)
                ref = refs.setdefault(key, dict(
                    img_path=self.img_file(rid), img_id=rid, ref_id=rid, bbox=box,
                    mask=self.mask_file(rid), box_only=False, category='', sentences=[]))
                ref['sentences'].append((f'{rid}_{lineno}', ' '.join(words)))
        yield from refs.values()
