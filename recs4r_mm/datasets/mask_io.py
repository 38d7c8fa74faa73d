"""Decoding the mask annotations the RECS datasets use (one place for dataset + transform).

A mask annotation is one of: COCO polygons ``[[x1, y1, x2, y2, ...], ...]``; an RLE dict
(``counts`` compressed str/bytes or uncompressed list); RRSIS-D's *list holding RLE dict(s)*
(unwrapped here: mmdet's polygon path would silently turn it into an empty mask); or a mask
file path (PNG/TIF/...; a pixel is object when its value is > ``threshold``, max over channels).

No paper part; which dataset uses which kind: docs/datasets.md "Formats".
"""
from typing import Optional, Tuple

import mmcv
import numpy as np
import pycocotools.mask as mask_utils
from mmengine.fileio import get


def unwrap_segmentation(seg):
    """RRSIS-D stores ``[RLE dict]``: return the dict (several dicts are merged)."""
    if isinstance(seg, (list, tuple)) and seg and all(isinstance(s, dict) for s in seg):
        if len(seg) == 1:
            return seg[0]
        size = seg[0]['size']
        return mask_utils.merge([_rle(s, size[0], size[1]) for s in seg])
    return seg


def _rle(rle: dict, h: int, w: int) -> dict:
    if isinstance(rle.get('counts'), list):  # uncompressed RLE
        return mask_utils.frPyObjects(rle, h, w)
    return rle


def _polygons_rle(polys, h: int, w: int) -> Optional[dict]:
    polys = [np.asarray(p, dtype=np.float64).reshape(-1).tolist() for p in polys]
    polys = [p for p in polys if len(p) >= 6 and len(p) % 2 == 0]
    if not polys:
        return None
    return mask_utils.merge(mask_utils.frPyObjects(polys, h, w))


def read_mask_file(path: str, threshold: int = 0, backend_args=None) -> np.ndarray:
    """Read a mask file -> (H, W) bool (value > ``threshold``).

    Raises:
        FileNotFoundError / OSError naming ``path`` when it is missing or cannot be decoded.
    """
    try:
        data = get(path, backend_args=backend_args)
    except FileNotFoundError as e:
        raise FileNotFoundError(f'mask file not found: {path}') from e
    img = mmcv.imfrombytes(data, flag='unchanged', backend='cv2') if data else None
    if img is None:
        raise OSError(f'cannot decode mask file {path}')
    if img.ndim == 3:
        img = img.max(axis=2)
    return img > threshold


def _check_hw(hw, what):
    if hw is None:
        raise ValueError(f'the image size is needed to decode {what}')
    return int(hw[0]), int(hw[1])


def decode_mask(mask, hw: Optional[Tuple[int, int]], threshold: int = 0,
                backend_args=None) -> np.ndarray:
    """Any mask annotation -> (H, W) bool. ``hw`` is required for polygons and checked against
    the size of RLE and file masks (a mismatch raises ``ValueError`` naming the source)."""
    mask = unwrap_segmentation(mask)
    if isinstance(mask, str):
        out = read_mask_file(mask, threshold, backend_args)
        if hw is not None and out.shape != (int(hw[0]), int(hw[1])):
            raise ValueError(f'mask file {mask} has size {out.shape}, but its image has size '
                             f'{tuple(int(v) for v in hw)}')
        return out
    if isinstance(mask, dict):
        size = mask.get('size')
        if size is None or mask.get('counts') is None:
            raise ValueError(f'malformed RLE mask (needs "size" and "counts"): keys '
                             f'{sorted(mask)}')
        h, w = int(size[0]), int(size[1])
        if hw is not None and (h, w) != (int(hw[0]), int(hw[1])):
            raise ValueError(f'RLE mask size {(h, w)} differs from the image size {tuple(hw)}')
        return mask_utils.decode(_rle(mask, h, w)).astype(bool)
    if isinstance(mask, (list, tuple)):
        h, w = _check_hw(hw, 'polygon masks')
        rle = _polygons_rle(mask, h, w)
        if rle is None:
            return np.zeros((h, w), dtype=bool)
        return mask_utils.decode(rle).astype(bool)
    raise TypeError(f'unsupported mask annotation of type {type(mask).__name__}')


def mask_box(mask: np.ndarray) -> Optional[list]:
    """Pixel-coverage box ``[x1, y1, x2, y2]`` of a bool mask (x2 = last column + 1)."""
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return None
    return [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]


def mask_annotation_area(mask, hw, threshold: int = 0):
    """``(pixel count, box or None)`` of a mask annotation, cheaply for polygons/RLE."""
    mask = unwrap_segmentation(mask)
    if isinstance(mask, str):
        m = decode_mask(mask, hw, threshold)
        return int(m.sum()), mask_box(m)
    if isinstance(mask, dict):
        size = mask.get('size')
        if size is None or mask.get('counts') is None:
            return 0, None
        rle = _rle(mask, int(size[0]), int(size[1]))
    elif isinstance(mask, (list, tuple)):
        h, w = _check_hw(hw, 'polygon masks')
        rle = _polygons_rle(mask, h, w)
        if rle is None:
            return 0, None
    else:
        return 0, None
    area = int(mask_utils.area(rle))
    if area == 0:
        return 0, None
    x, y, bw, bh = mask_utils.toBbox(rle).tolist()
    return area, [x, y, x + bw, y + bh]
