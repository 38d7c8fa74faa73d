"""COCO run-length encoding of a binary mask, without pycocotools.

The result is what ``pycocotools.mask.encode`` returns (``counts`` as a str): column-major
runs starting with a run of zeros, written in COCO's compressed string form. One RLE holds any
number of parts and holes, so a multi-part object stays one annotation.

No paper part; docs/synthetic_data.md, section "Generalized set (no-target and multi-target)".
"""
from typing import Dict, List

import numpy as np


def rle_counts(mask: np.ndarray) -> List[int]:
    """Uncompressed COCO RLE counts of a (H, W) mask (column-major, zeros first)."""
    flat = np.asarray(mask, bool).ravel(order='F')
    if flat.size == 0:
        return [0]
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate([[0], change, [flat.size]])).tolist()
    return [0] + runs if flat[0] else runs


def compress_counts(counts: List[int]) -> str:
    """COCO's compressed string of RLE counts (delta to the count two back from the third
    on, 5-bit groups with a continuation bit, offset by 48)."""
    chars = []
    for i, x in enumerate(counts):
        if i > 2:
            x -= counts[i - 2]
        more = True
        while more:
            c = x & 0x1f
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            if more:
                c |= 0x20
            chars.append(chr(c + 48))
    return ''.join(chars)


def encode_rle(mask: np.ndarray) -> Dict:
    """``{'size': [H, W], 'counts': str}``: the compressed COCO RLE of ``mask``."""
    h, w = mask.shape
    return {'size': [int(h), int(w)], 'counts': compress_counts(rle_counts(mask))}
