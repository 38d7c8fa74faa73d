"""Shared base of the id-keyed folder formats (``images/<id>.jpg``, ``masks/<id>.png``).

No paper part; the id-folder layouts: docs/datasets.md "Formats".
"""
import os.path as osp
from typing import Optional, Sequence

from .base_referring import BaseReferringDataset, require_path


def _under_root(data_root: str, path: str) -> str:
    return osp.join(data_root, path) if data_root and not osp.isabs(path) else path


class IdFolderDataset(BaseReferringDataset):
    """Datasets whose image and mask files are named by a record id.

    Args:
        data_root (str): dataset root (the folder that directly holds ``images/``, ``masks/``
            and the annotation files).
        ann_file (str): the annotation file (relative to ``data_root``).
        data_prefix (dict): ``dict(img_path='images/', mask_path='masks/')``.
        img_suffix (str): image file suffix, e.g. ``'.jpg'`` (``'.png'`` for synthetic data).
        mask_suffix (str): mask file suffix.
    """
    MASK_FILES = True
    ann_file_candidates: Sequence[str] = ()  # set by pick_ann_file

    def __init__(self,
                 data_root: str = '',
                 ann_file: str = '',
                 data_prefix: Optional[dict] = None,
                 img_suffix: str = '.jpg',
                 mask_suffix: str = '.png',
                 **kwargs):
        self.img_suffix = img_suffix
        self.mask_suffix = mask_suffix
        super().__init__(
            data_root=data_root,
            ann_file=ann_file,
            data_prefix=data_prefix or dict(img_path='images/', mask_path='masks/'),
            **kwargs)

    def pick_ann_file(self, data_root: str, candidates: Sequence[str]) -> str:
        """The first of ``candidates`` (relative to ``data_root``) that exists, else the first.

        Remembers every candidate (under ``data_root``) so that a missing annotation file is
        reported with all the paths tried (see :meth:`check_layout`).
        """
        self.ann_file_candidates = [_under_root(data_root, c) for c in candidates]
        for cand, path in zip(candidates, self.ann_file_candidates):
            if osp.exists(path):
                return cand
        return candidates[0]

    def check_layout(self):
        """Raise ``FileNotFoundError`` naming the first missing root/file/folder."""
        require_path(self.data_root or '.', 'data_root directory')
        if len(self.ann_file_candidates) > 1 and not osp.exists(self.ann_file):
            raise FileNotFoundError('annotation file not found: tried ' +
                                    ' and '.join(self.ann_file_candidates))
        require_path(self.ann_file, 'annotation file')
        require_path(self.data_prefix.get('img_path', ''), 'image directory')
        if self.data_prefix.get('mask_path') is not None:
            require_path(self.data_prefix['mask_path'], 'mask directory')

    def img_file(self, rid: str) -> str:
        return osp.join(self.data_prefix.get('img_path', ''), f'{rid}{self.img_suffix}')

    def mask_file(self, rid: str) -> str:
        return osp.join(self.data_prefix['mask_path'], f'{rid}{self.mask_suffix}')

    def source_name(self) -> str:
        return f'{type(self).__name__}({self.ann_file})'
