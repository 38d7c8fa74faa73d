"""DIOR-RSVG (visual grounding, boxes only).

Layout::

    Annotations/*.xml    VOC-style: filename, size, objects with name, bndbox and description
    JPEGImages/
    train.txt / val.txt / test.txt    global object indices (one per line)

The indices count objects over the XML files in order, objects in file order. The original
loader walks the folder in file-system order; we sort the file names (DIOR's are zero-padded
numbers, so this is the natural order) — ``xml_order='walk'`` reproduces ``os.walk``.
Samples are ``box_only``: they train on the box's 4-corner contour and are scored on VG only.

No paper part; docs/datasets.md, section "DIOR-RSVG (boxes only)".
"""
import os
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Dict, Iterable

from mmengine.fileio import get_local_path

from recs4r_mm.registry import DATASETS
from .base_referring import BaseReferringDataset, require_path

#: DIOR's object categories (RefDIOR, DIOR-RSVG and RRSIS-D use them), as expressions write them.
DIOR_CATEGORIES = ('airplane', 'airport', 'baseball field', 'basketball court', 'bridge',
                   'chimney', 'dam', 'expressway service area', 'expressway toll station',
                   'golf field', 'golf course', 'ground track field', 'harbor', 'overpass',
                   'ship', 'stadium', 'storage tank', 'tennis court', 'train station', 'vehicle',
                   'windmill')


@DATASETS.register_module()
class DIORRSVGDataset(BaseReferringDataset):
    """DIOR-RSVG.

    Args:
        data_root (str): dataset root.
        split (str): ``train``/``val``/``test``; sets ``ann_file = f'{split}.txt'``.
        data_prefix (dict): ``dict(img_path='JPEGImages/', ann_path='Annotations/')``.
        xml_order (str): ``'sorted'`` (default) or ``'walk'``.
    """
    METAINFO = dict(BaseReferringDataset.METAINFO, category_names=DIOR_CATEGORIES)

    def __init__(self, data_root: str = '', split: str = 'train', ann_file: str = '',
                 data_prefix=None, xml_order: str = 'sorted', **kwargs):
        if xml_order not in ('sorted', 'walk'):
            raise ValueError(f"xml_order must be 'sorted' or 'walk', got {xml_order!r}")
        self.split = split
        self.xml_order = xml_order
        super().__init__(data_root=data_root, ann_file=ann_file or f'{split}.txt',
                         data_prefix=data_prefix or dict(img_path='JPEGImages/',
                                                         ann_path='Annotations/'),
                         **kwargs)

    def _xml_files(self, ann_dir):
        if self.xml_order == 'walk':
            return [osp.join(d, f) for d, _, files in os.walk(ann_dir) for f in files
                    if f.endswith('.xml')]
        return [osp.join(ann_dir, f) for f in sorted(os.listdir(ann_dir)) if f.endswith('.xml')]

    def load_refs(self) -> Iterable[Dict]:
        require_path(self.data_root or '.', 'data_root directory')
        require_path(self.ann_file, 'split file')
        img_dir = require_path(self.data_prefix.get('img_path', ''), 'image directory')
        ann_dir = require_path(self.data_prefix.get('ann_path', ''), 'annotation directory')
        with get_local_path(self.ann_file) as local, open(local) as f:
            try:
                wanted = {int(v) for v in f.read().split()}
            except ValueError as e:
                raise ValueError(f'malformed split file {self.ann_file}: {e}') from e
        count = 0
        for xml_path in self._xml_files(ann_dir):
            try:
                root = ET.parse(xml_path).getroot()
            except ET.ParseError as e:
                raise ValueError(f'malformed annotation file {xml_path}: {e}') from e
            objects = root.findall('object')
            filename = root.findtext('filename') or (
                osp.splitext(osp.basename(xml_path))[0] + '.jpg')
            size = root.find('size')
            hw = {}
            if size is not None and size.findtext('height') and size.findtext('width'):
                hw = dict(height=int(float(size.findtext('height'))),
                          width=int(float(size.findtext('width'))))
            for obj in objects:
                index = count
                count += 1
                if index not in wanted:
                    continue
                bnd = obj.find('bndbox')
                try:
                    box = [float(bnd.findtext(k)) for k in ('xmin', 'ymin', 'xmax', 'ymax')]
                except (AttributeError, TypeError, ValueError):
                    self.skip('malformed object',
                              f'{self.short_path(xml_path)} object {index}')
                    continue
                yield dict(
                    img_path=osp.join(img_dir, filename),
                    img_id=osp.splitext(filename)[0],
                    ref_id=index,
                    bbox=box,
                    mask=None,
                    box_only=True,
                    category=(obj.findtext('name') or '').strip(),
                    sentences=[(index, obj.findtext('description') or '')],
                    **hw)
