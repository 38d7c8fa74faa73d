"""2-D sine positional encoding on normalised coordinates (resolution independent).

DETR (Carion et al., ECCV 2020) sine encoding, on normalised cell centres; docs/design.md
§2 step 4, §8 "position code in the decoder".
"""
import math

import torch
from torch import Tensor


def sine_positional_encoding_2d(h: int, w: int, embed_dims: int,
                                temperature: float = 10000.0,
                                device=None, dtype=None) -> Tensor:
    """DETR-style sine encoding of the cell centres of an ``h x w`` grid.

    Coordinates are the cell centres normalised to [0, 1] (times 2*pi), so a crop and the
    full image share one positional code space.

    Returns:
        Tensor: (h * w, embed_dims), row-major (y, x) order.
    """
    if embed_dims % 4 != 0:
        raise ValueError(f'embed_dims={embed_dims} must be divisible by 4')
    npf = embed_dims // 2
    ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) / h * 2 * math.pi
    xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) / w * 2 * math.pi
    # DETR's sine code: sin/cos of position / temperature^(2i/npf), y half then x half
    dim_t = torch.arange(npf, device=device, dtype=torch.float32)
    dim_t = temperature**(2 * torch.div(dim_t, 2, rounding_mode='floor') / npf)
    pos_x = xs[:, None] / dim_t  # (w, npf)
    pos_y = ys[:, None] / dim_t  # (h, npf)
    pos_x = torch.stack((pos_x[:, 0::2].sin(), pos_x[:, 1::2].cos()), dim=2).flatten(1)
    pos_y = torch.stack((pos_y[:, 0::2].sin(), pos_y[:, 1::2].cos()), dim=2).flatten(1)
    pos = torch.cat((pos_y[:, None, :].expand(h, w, npf),
                     pos_x[None, :, :].expand(h, w, npf)), dim=2)
    pos = pos.reshape(h * w, embed_dims)
    return pos if dtype is None else pos.to(dtype)
