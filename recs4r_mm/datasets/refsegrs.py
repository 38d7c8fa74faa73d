"""RefSegRS.

Layout (``data_root`` relative)::

    images/<id>.tif
    masks/<id>.tif                    binarised with > 50
    output_phrase_{train,val,test}.txt   lines "<id> <sentence ...>"   (original release)
    phrase_txts/output_phrase_{train,val,test}.txt                    (RSFM-family copies)

No boxes are stored: the box is the mask's bounding rectangle (computed when the mask is
loaded, or at init with ``validate_masks=True``).

No paper part; docs/datasets.md, section "RefSegRS".
"""
from collections import OrderedDict
from typing import Dict, Iterable

from mmengine.fileio import get_local_path

from recs4r_mm.registry import DATASETS
from .folder_base import IdFolderDataset

#: RefSegRS's object categories, as expressions write them.
REFSEGRS_CATEGORIES = ('road', 'vehicle', 'car', 'van', 'building', 'truck', 'trailer', 'bus',
                       'road marking', 'bikeway', 'sidewalk', 'tree', 'low vegetation',
                       'impervious surface')


@DATASETS.register_module()
class RefSegRSDataset(IdFolderDataset):
    """RefSegRS (``split`` in train/val/test; ``mask_threshold`` 50; ``.tif`` files).

    Without ``ann_file`` the split file is ``output_phrase_{split}.txt`` at ``data_root``, or
    else ``phrase_txts/output_phrase_{split}.txt``; when neither exists the
    ``FileNotFoundError`` names both.
    """
    METAINFO = dict(IdFolderDataset.METAINFO, category_names=REFSEGRS_CATEGORIES)

    def __init__(self, data_root: str = '', split: str = 'train', ann_file: str = '',
                 img_suffix: str = '.tif', mask_suffix: str = '.tif',
                 mask_threshold: int = 50, **kwargs):
        self.split = split
        if not ann_file:
            ann_file = self.pick_ann_file(data_root, [
                f'output_phrase_{split}.txt', f'phrase_txts/output_phrase_{split}.txt'])
        super().__init__(data_root=data_root, ann_file=ann_file,
                         img_suffix=img_suffix, mask_suffix=mask_suffix,
                         mask_threshold=mask_threshold, **kwargs)

    def load_refs(self) -> Iterable[Dict]:
        self.check_layout()
        refs: 'OrderedDict' = OrderedDict()
        with get_local_path(self.ann_file) as local, open(local, encoding='utf-8') as f:
            for lineno, line in enumerate(f, 1):
                fields = line.split(maxsplit=1)
                if not fields:
                    continue
                rid = fields[0]
                ref = refs.setdefault(rid, dict(
                    img_path=self.img_file(rid), img_id=rid, ref_id=rid, bbox=None,
                    mask=self.mask_file(rid), box_only=False, category='', sentences=[]))
                ref['sentences'].append((f'{rid}_{lineno}', fields[1] if len(fields) > 1 else ''))
        yield from refs.values()
