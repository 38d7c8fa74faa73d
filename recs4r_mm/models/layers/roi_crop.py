"""Crop boxes for the fine stage: enlarge, enforce a minimum size, clip; crop-and-resize.

Coordinates are continuous pixel coordinates (pixel (r, c) covers [c, c+1] x [r, r+1]).

RECS4R (CVPR 2026), Overall Architecture (fine stage: crop around B_c, resize to I_f);
docs/design.md §3, §8.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def expand_boxes(boxes: Tensor, img_hw: Tensor, margin: float = 0.2,
                 min_size: float = 32.0) -> Tensor:
    """Enlarge boxes by a context margin, enforce a minimum size and keep them in the image.

    Each side grows by ``margin`` times the box size; a side shorter than ``min_size`` (capped
    at the image size) is widened around its centre; a box sticking out is shifted inside when
    it fits, then clipped.

    Args:
        boxes (Tensor): (B, 4) xyxy in pixels.
        img_hw (Tensor): (B, 2) image (h, w) in pixels.
        margin (float): Relative margin per side.
        min_size (float): Minimum side length in pixels.

    Returns:
        Tensor: (B, 4) xyxy crop boxes inside [0, w] x [0, h] with positive size.
    """
    boxes = boxes.float()
    img_hw = img_hw.to(boxes)
    limit = img_hw.flip(-1)  # (B, 2) as (w, h)
    ctr = (boxes[:, :2] + boxes[:, 2:]) / 2
    size = (boxes[:, 2:] - boxes[:, :2]).clamp(min=0) * (1 + 2 * margin)
    size = torch.maximum(size, torch.minimum(torch.full_like(size, min_size), limit))
    size = torch.minimum(size, limit).clamp(min=1.0)
    lo = ctr - size / 2
    lo = torch.minimum(lo.clamp(min=0), limit - size)  # shift inside
    hi = lo + size
    return torch.cat([lo.clamp(min=0), torch.minimum(hi, limit)], dim=1)


def crop_and_resize(images: Tensor, boxes: Tensor, out_hw: Tuple[int, int],
                    mode: str = 'bilinear') -> Tensor:
    """Bilinear crop-and-resize of each image at its box.

    Args:
        images (Tensor): (B, C, H, W).
        boxes (Tensor): (B, 4) xyxy in pixels of ``images``.
        out_hw (tuple[int, int]): Output (h, w).
        mode (str): 'bilinear' or 'nearest'.

    Returns:
        Tensor: (B, C, h, w); output pixel centre j samples x1 + (j + 0.5) * (x2 - x1) / w.
    """
    b, _, hh, ww = images.shape
    oh, ow = out_hw
    boxes = boxes.to(images.dtype)
    u = (torch.arange(ow, device=images.device, dtype=images.dtype) + 0.5) / ow
    v = (torch.arange(oh, device=images.device, dtype=images.dtype) + 0.5) / oh
    x = boxes[:, 0:1] + u[None] * (boxes[:, 2:3] - boxes[:, 0:1])  # (B, ow)
    y = boxes[:, 1:2] + v[None] * (boxes[:, 3:4] - boxes[:, 1:2])  # (B, oh)
    gx = (2 * x / ww - 1)[:, None, :].expand(b, oh, ow)
    gy = (2 * y / hh - 1)[:, :, None].expand(b, oh, ow)
    grid = torch.stack([gx, gy], dim=-1)
    return F.grid_sample(images, grid, mode=mode, padding_mode='zeros', align_corners=False)


def crop_to_image_coords(coords: Tensor, crop_boxes: Tensor, img_hw: Tensor) -> Tensor:
    """Map normalised crop coordinates back to normalised image coordinates.

    Args:
        coords (Tensor): (B, T, 2) (x, y) in [0, 1] of the crop.
        crop_boxes (Tensor): (B, 4) xyxy crop boxes in image pixels.
        img_hw (Tensor): (B, 2) image (h, w).

    Returns:
        Tensor: (B, T, 2) (x, y) normalised by the image size.
    """
    lo = crop_boxes[:, None, :2]
    size = (crop_boxes[:, 2:] - crop_boxes[:, :2])[:, None]
    return (lo + coords * size) / img_hw.flip(-1)[:, None].to(coords)


def image_to_crop_coords(coords: Tensor, crop_boxes: Tensor, img_hw: Tensor) -> Tensor:
    """Inverse of :func:`crop_to_image_coords` (values may leave [0, 1])."""
    lo = crop_boxes[:, None, :2]
    size = (crop_boxes[:, 2:] - crop_boxes[:, :2])[:, None].clamp(min=1e-6)
    return (coords * img_hw.flip(-1)[:, None].to(coords) - lo) / size
