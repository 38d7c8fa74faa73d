"""RECS datasets (one sample per image, expression, target) and their pipeline steps.

No paper part: the data side of RECS4R (CVPR 2026); formats in docs/datasets.md "Formats",
the sample layout in docs/design.md §1.
"""
from .base_referring import BaseReferringDataset
from .dior_rsvg import DIORRSVGDataset
from .folder_base import IdFolderDataset
from .grefcoco import GRefCOCODataset
from .mask_io import decode_mask, mask_annotation_area, read_mask_file, unwrap_segmentation
from .phrase_json import PhraseJsonDataset, RefDIORDataset
from .refer import ReferDataset, RRSISDDataset
from .refsegrs import RefSegRSDataset
from .rrsisd_txt import RRSISDTxtDataset
from .synthetic_grefs import SyntheticGRefRSDataset
from .synthetic_refrs import SyntheticRefRSDataset
from .transforms import CleanText, ContourTarget, LoadRECSAnnotations

__all__ = [
    'BaseReferringDataset', 'IdFolderDataset', 'ReferDataset', 'RRSISDDataset', 'GRefCOCODataset',
    'RRSISDTxtDataset', 'PhraseJsonDataset', 'RefDIORDataset', 'RefSegRSDataset',
    'DIORRSVGDataset', 'SyntheticRefRSDataset', 'SyntheticGRefRSDataset',
    'LoadRECSAnnotations', 'CleanText', 'ContourTarget', 'decode_mask',
    'mask_annotation_area', 'read_mask_file', 'unwrap_segmentation'
]
