"""Model-side helpers around the structures' token sequences.

The sequence format itself (encoder/decoder) lives in :mod:`recs4r_mm.structures`; this file
only (a) adds/strips the PolyFormer-style box prefix used when LUCDP is switched off and
(b) derives per-position ring indices from token ids, for losses on teacher-forced outputs.
The coder that uses them to encode targets and decode predictions is
``models/task_modules/coders/contour_sequence_coder.py``.

The box prefix is PolyFormer's sequence (Liu et al., CVPR 2023), the LUCDP-off row of the
RECS4R (CVPR 2026) ablation; docs/design.md §6, §7.
"""
from typing import Tuple

import numpy as np
import torch
from torch import Tensor

from recs4r_mm.structures import (TOKEN_COORD, TOKEN_END, TOKEN_HOLE, TOKEN_OBJ, TOKEN_SEP,
                                  TOKEN_START)

SEQ_FORMATS = ('contour', 'box_polygon')
# forced first generated tokens of each format (after START)
FORCED_PREFIX = dict(contour=(), box_polygon=(TOKEN_COORD, TOKEN_COORD, TOKEN_SEP))


def add_box_prefix(tokens: np.ndarray, coords: np.ndarray,
                   box_norm) -> Tuple[np.ndarray, np.ndarray]:
    """PolyFormer-style sequence: START, (x1, y1), (x2, y2), SEP, <contour...>, END.

    Args:
        tokens (np.ndarray): (T,) a structures sequence starting with START.
        coords (np.ndarray): (T, 2).
        box_norm: (4,) xyxy normalised box.
    """
    if int(tokens[0]) != TOKEN_START:
        raise ValueError('add_box_prefix: sequence must start with START')
    box = np.clip(np.asarray(box_norm, dtype=np.float32).reshape(2, 2), 0, 1)
    new_tokens = np.concatenate([[TOKEN_START, TOKEN_COORD, TOKEN_COORD, TOKEN_SEP],
                                 np.asarray(tokens[1:])]).astype(np.int64)
    new_coords = np.concatenate([np.zeros((1, 2), np.float32), box,
                                 np.zeros((1, 2), np.float32),
                                 np.asarray(coords[1:], np.float32)]).astype(np.float32)
    return new_tokens, new_coords


def split_box_prefix(tokens: Tensor, coords: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """Inverse of :func:`add_box_prefix` on a batch.

    Args:
        tokens (Tensor): (B, T) with START, c, c, SEP, ...
        coords (Tensor): (B, T, 2).

    Returns:
        tuple: boxes (B, 4) normalised xyxy (corners sorted), tokens (B, T-3) and
        coords (B, T-3, 2) of the contour part (starting with START).
    """
    c = coords[:, 1:3]
    boxes = torch.cat([c.min(dim=1).values, c.max(dim=1).values], dim=-1)
    return boxes, torch.cat([tokens[:, :1], tokens[:, 4:]], 1), torch.cat(
        [coords[:, :1], coords[:, 4:]], 1)


def ring_ids_from_tokens(tokens: Tensor, num_prefix: int = 0) -> Tuple[Tensor, Tensor]:
    """Ring index of every coordinate position of a (target) token sequence.

    Args:
        tokens (Tensor): (B, T) token ids (padding < 0). Positions are read up to END.
        num_prefix (int): Leading positions to exclude (e.g. box corners).

    Returns:
        tuple: ``ring_ids`` (B, T) long (-1 = not a contour vertex) and ``is_hole`` (B, T)
        bool (vertex belongs to a hole ring).
    """
    b, t = tokens.shape
    idx = torch.arange(t, device=tokens.device).expand(b, t)
    is_sep = (tokens == TOKEN_SEP) | (tokens == TOKEN_HOLE) | (tokens == TOKEN_OBJ)
    ring = is_sep.long().cumsum(1)
    ended = (tokens == TOKEN_END).long().cumsum(1) > 0
    is_coord = (tokens == TOKEN_COORD) & ~ended & (idx >= num_prefix)
    last_sep = torch.where(is_sep, idx, torch.full_like(idx, -1)).cummax(1).values
    kind = torch.gather(tokens, 1, last_sep.clamp(min=0))
    is_hole = is_coord & (last_sep >= 0) & (kind == TOKEN_HOLE)
    return torch.where(is_coord, ring, torch.full_like(ring, -1)), is_hole
