"""The contour-sequence coder: GT masks/boxes -> target token sequences, decoded sequences ->
polygons, boxes (Rect) and masks (Fill).

RECS4R (CVPR 2026), LUCDP: one vertex sequence gives both the box and the mask. The sequence
format and the contour budget rule are described in ``docs/design.md`` §6; the
``box_polygon`` format is PolyFormer's target sequence (Liu et al., CVPR 2023: box corners, then
the polygon), the LUCDP-off row of the ablation (docs/design.md §7).
"""
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.logging import print_log
from torch import Tensor

from recs4r_mm.registry import TASK_UTILS
from recs4r_mm.structures import (TOKEN_COORD, BudgetStats, ContourBudget, box_to_polygons,
                                  box_to_sequence, mask_or_box_to_sequence, pad_sequences,
                                  polygons_to_box, polygons_to_mask, sequence_to_objects,
                                  sequence_to_polygons)
from ...heads.sequence_format import (FORCED_PREFIX, SEQ_FORMATS, add_box_prefix,
                                      ring_ids_from_tokens, split_box_prefix)

BUDGET_KEYS = ('min_part_pixels', 'max_contours', 'measure_iou')


@TASK_UTILS.register_module()
class ContourSequenceCoder:
    """Owns the sequence format of targets and predictions.

    Args:
        num_vertices (int): Vertices per target sequence, shared among its contours.
        with_holes (bool): Encode hole contours (HOLE token).
        seq_format (str): ``'contour'`` (LUCDP) or ``'box_polygon'`` (LUCDP off: box corners,
            SEP, then the contour).
        max_len (int, optional): The decoder's ``max_len`` (the detector passes its head's);
            every target is fitted to it by the contour budget rule.
        budget (dict, optional): Knobs of the rule (:class:`ContourBudget`):
            ``min_part_pixels`` (3), ``max_contours`` (None) and ``measure_iou`` (True: the
            Fill IoU of reduced targets is measured for the run's summary).
        generalized (bool): Generalized referring (not in the paper; design.md §6): a target
            is any number of objects, each its own contours, separated by OBJ; no object is
            ``START, END``. Targets come from :meth:`encode_objects`, predictions go through
            :meth:`decode_objects`.
    """

    def __init__(self, num_vertices: int = 64, with_holes: bool = True,
                 seq_format: str = 'contour', max_len: Optional[int] = None,
                 budget: Optional[dict] = None, generalized: bool = False) -> None:
        if seq_format not in SEQ_FORMATS:
            raise ValueError(f'ContourSequenceCoder.seq_format must be one of {SEQ_FORMATS}, '
                             f'got {seq_format!r}')
        budget = dict(budget or {})
        unknown = set(budget) - set(BUDGET_KEYS)
        if unknown:
            raise ValueError(f'ContourSequenceCoder.budget: unknown keys {sorted(unknown)} '
                             f'(known: {", ".join(BUDGET_KEYS)})')
        self.num_vertices = int(num_vertices)
        self.with_holes = bool(with_holes)
        self.generalized = bool(generalized)
        if self.generalized and seq_format != 'contour':
            raise ValueError("ContourSequenceCoder(generalized=True) needs seq_format='contour'")
        self.seq_format = seq_format
        self.forced_prefix = FORCED_PREFIX[seq_format]
        self.measure_iou = bool(budget.pop('measure_iou', True))
        self.budget = ContourBudget(self.num_vertices, max_len=max_len,
                                    prefix_len=len(self.forced_prefix),
                                    with_holes=self.with_holes, **budget)
        # targets the budget rule reduced, per stage (ContourBudgetLoggerHook logs them)
        self.budget_stats = dict(coarse=BudgetStats(), fine=BudgetStats())
        self._warned = set()

    @classmethod
    def from_model_cfg(cls, model_cfg) -> 'ContourSequenceCoder':
        """The coder a ``RECS4R`` config trains with, without building the model."""
        cfg = dict(model_cfg.get('sequence_coder') or {})
        cfg.pop('type', None)
        cfg.setdefault('max_len', model_cfg['head'].get('max_len', 80))
        return cls(**cfg)

    # ------------------------------------------------------------------ encoding
    def _warn_once(self, key: str, msg: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(msg)

    def _count(self, record, stage: str, key: str) -> None:
        stats = self.budget_stats[stage]
        stats.update(record, key)
        if record.reduced and stats.reduced == 1:
            print_log(f'ContourSequenceCoder: the {stage} target of {key} has '
                      f'{record.num_parts} part(s) and {record.num_holes} hole(s), more than '
                      f'the {self.budget.max_contours} contours max_len={self.budget.max_len} '
                      'leaves room for; the budget rule dropped the smallest (counted; '
                      'summary at the end of training)', logger='current')

    def encode_one(self, mask: np.ndarray, box: np.ndarray, box_only: bool,
                   hw: Tuple[int, int], key: str, warn: bool = True,
                   stage: str = 'coarse') -> Tuple[np.ndarray, np.ndarray, float]:
        """One target (normalised by ``hw``) and its weight (0 = unusable target).

        The mask's contours (budget rule applied), else the 4-corner contour of the box
        (box-only samples, or a mask that is empty at this size), else weight 0.
        """
        nv = self.num_vertices
        seq = None
        if not box_only and mask.any():
            try:
                *seq, record = self.budget.encode_mask(
                    mask, 'reduced' if self.measure_iou else 'never')
            except ValueError:
                seq = None
            else:
                self._count(record, stage, key)
        if seq is None:
            if not box_only and warn:
                self._warn_once('empty', f'{key}: empty/degenerate GT mask, training on its '
                                'box contour instead (warned once)')
            try:  # the box clipped to the image, 4-corner contour
                seq = mask_or_box_to_sequence(None, box, hw, nv)
            except ValueError:
                if warn:
                    self._warn_once('degenerate', f'{key}: degenerate GT box {box.tolist()}, '
                                    'sample ignored in the loss (warned once)')
                return (*box_to_sequence([0, 0, hw[1], hw[0]], hw, nv), 0.0)
        tokens, coords = seq
        if self.seq_format == 'box_polygon':
            xy = coords[tokens == TOKEN_COORD]
            tokens, coords = add_box_prefix(tokens, coords,
                                            np.concatenate([xy.min(0), xy.max(0)]))
        return tokens, coords, 1.0

    def encode(self, masks: np.ndarray, boxes: np.ndarray, box_only: np.ndarray,
               hw: Tuple[int, int], keys: Sequence[str], device=None, warn: bool = True,
               stage: str = 'coarse') -> Tuple[Tensor, Tensor, Tensor]:
        """A batch of targets.

        Args:
            masks: (B, H, W) bool GT masks at ``hw``.
            boxes: (B, 4) GT boxes, xyxy pixels of ``hw``.
            box_only: (B,) bool, samples with a box only.
            keys: names of the samples (warnings, budget summary).

        Returns:
            tuple: tokens (B, T) long (padding -1), coords (B, T, 2) normalised, weights (B,).
        """
        seqs, weights = [], []
        for m, b, bo, k in zip(masks, boxes, box_only, keys):
            t, c, w = self.encode_one(m, b, bool(bo), hw, k, warn, stage)
            seqs.append((t, c))
            weights.append(w)
        tokens, coords = pad_sequences(seqs)
        return tokens.to(device), coords.to(device), torch.tensor(weights, device=device)

    def encode_crops(self, crop_masks: Tensor, boxes: Tensor, box_only: np.ndarray,
                     crop_boxes: Tensor, size: int, keys: Sequence[str]
                     ) -> Tuple[Tensor, Tensor, Tensor]:
        """Targets of the fine stage: the GT cropped at ``crop_boxes`` and re-encoded in crop
        coordinates of a ``size`` x ``size`` input.

        Args:
            crop_masks: (B, 1, size, size) float GT masks already cropped at ``crop_boxes``
                (from the input's GT or the original's); boxes: (B, 4) GT boxes in pixels.
            crop_boxes: (B, 4) xyxy crop boxes in pixels (of the boxes' frame).

        Returns:
            tuple: tokens, coords, weights as :meth:`encode`; a crop without the object (and
            not box-only) gets weight 0: it cannot teach the fine stage.
        """
        device = crop_masks.device
        if tuple(crop_masks.shape[-2:]) != (size, size):
            raise ValueError(f'encode_crops: crop_masks are {tuple(crop_masks.shape[-2:])}, '
                             f'expected ({size}, {size})')
        crop_masks = crop_masks >= 0.5  # (B, 1, s, s)
        wh = (crop_boxes[:, 2:] - crop_boxes[:, :2]).clamp(min=1e-6)
        boxes_c = torch.cat([(boxes[:, :2] - crop_boxes[:, :2]) / wh,
                             (boxes[:, 2:] - crop_boxes[:, :2]) / wh], 1).clamp(0, 1) * size
        crop_masks = crop_masks[:, 0].cpu()
        tokens, coords, weights = self.encode(
            crop_masks.numpy(), boxes_c.cpu().numpy(), box_only, (size, size), keys, device,
            warn=False, stage='fine')
        has_fg = torch.tensor([bo or bool(m.any()) for bo, m in zip(box_only, crop_masks)],
                              device=device)
        return tokens, coords, weights * has_fg.to(weights)

    def encode_objects(self, masks: Sequence[np.ndarray], boxes: Sequence[np.ndarray],
                       box_only: np.ndarray, hw: Tuple[int, int], keys: Sequence[str],
                       device=None, stage: str = 'coarse') -> Tuple[Tensor, Tensor, Tensor]:
        """Generalized targets: per sample, its objects' masks (N_i, H, W) bool at ``hw`` and
        boxes (N_i, 4) pixels (N_i = 0: no target, ``START, END``). An object whose mask is
        empty at this size (or a box-only sample) is encoded by its box's contour.

        Returns:
            tuple: tokens (B, T), coords (B, T, 2), weights (B,) as :meth:`encode`.
        """
        seqs = []
        for m, b, bo, key in zip(masks, boxes, box_only, keys):
            m = np.asarray(m, dtype=bool).reshape(-1, *hw)
            b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
            objects = []
            for k in range(b.shape[0]):
                parts = [] if bo or k >= m.shape[0] else self.budget.trace(m[k])
                if not parts:  # box-only, or the object vanished at this size: its box
                    x1, x2 = np.clip(b[k, [0, 2]], 0, hw[1])
                    y1, y2 = np.clip(b[k, [1, 3]], 0, hw[0])
                    parts = box_to_polygons([x1, y1, x2, y2]) if x2 > x1 and y2 > y1 else []
                if parts:
                    objects.append(parts)
            *seq, record = self.budget.encode_object_polygons(objects, hw)
            self._count(record, stage, key)
            seqs.append(seq)
        tokens, coords = pad_sequences(seqs)
        return tokens.to(device), coords.to(device), torch.ones(len(seqs), device=device)

    def encode_object_crops(self, crop_masks: Sequence[Tensor], boxes: Sequence[Tensor],
                            box_only: np.ndarray, crop_boxes: Tensor, size: int,
                            keys: Sequence[str]) -> Tuple[Tensor, Tensor, Tensor]:
        """Generalized targets of the fine stage: each sample's objects cropped at its crop
        box, re-encoded in crop coordinates of a ``size`` x ``size`` input; objects outside
        the crop are left out, and a crop with no object left gets weight 0 (as
        :meth:`encode_crops`; the fine stage is not taught to say "no target").

        Args:
            crop_masks: per sample (N_i, size, size) float object masks already cropped.
            boxes: per sample (N_i, 4) object boxes in pixels of the crop boxes' frame.
            crop_boxes: (B, 4) crop boxes in pixels.
        """
        masks_c, boxes_c, has_obj = [], [], []
        for m, b, cb, bo in zip(crop_masks, boxes, crop_boxes, box_only):
            m = (m.reshape(-1, size, size) >= 0.5).cpu()
            wh = (cb[2:] - cb[:2]).clamp(min=1e-6)
            bc = (torch.cat([(b[:, :2] - cb[:2]) / wh, (b[:, 2:] - cb[:2]) / wh], 1)
                  .clamp(0, 1) * size).reshape(-1, 4)
            inside = (bc[:, 2] > bc[:, 0]) & (bc[:, 3] > bc[:, 1])
            if not bo:
                inside = inside & m.flatten(1).any(1).to(inside.device)
            inside = inside.cpu()
            masks_c.append(m[inside].numpy())
            boxes_c.append(bc.cpu()[inside].numpy())
            has_obj.append(bool(inside.any()))
        tokens, coords, weights = self.encode_objects(masks_c, boxes_c, box_only, (size, size),
                                                      keys, crop_boxes.device, stage='fine')
        return tokens, coords, weights * torch.tensor(has_obj, device=weights.device).to(weights)

    # ------------------------------------------------------------------ decoding
    def rect(self, tokens: Tensor, coords: Tensor) -> Tensor:
        """Box (B, 4) normalised xyxy of sequences: Rect of the outer-ring vertices
        (``contour``) or the two box-corner tokens (``box_polygon``); the whole image when a
        sequence has none.

        Args:
            tokens (Tensor): (B, T) token ids aligned with ``coords`` (with or without START;
                teacher-forced outputs pass the targets' ``tokens[:, 1:]``).
            coords (Tensor): (B, T, 2) vertices (targets, teacher-forced or decoded).
        """
        is_coord = tokens == TOKEN_COORD
        if self.seq_format == 'box_polygon':
            use = is_coord & (is_coord.long().cumsum(1) <= 2)  # the two corner tokens
        else:
            ring, is_hole = ring_ids_from_tokens(tokens)
            use = (ring >= 0) & ~is_hole
        use = use[..., None]
        inf = torch.full_like(coords, float('inf'))
        lo = torch.where(use, coords, inf).min(1).values
        hi = torch.where(use, coords, -inf).max(1).values
        boxes = torch.cat([lo, hi], 1)  # Rect(P): min/max over the outer-ring vertices
        full = torch.tensor([0., 0., 1., 1.], device=coords.device, dtype=coords.dtype)
        return torch.where(use[..., 0].any(1)[:, None], boxes, full.expand_as(boxes))

    def decode(self, tokens: Tensor, coords: Tensor, out_hw: Tuple[int, int],
               scale: Optional[Tensor] = None) -> Tuple[List[Dict], np.ndarray, np.ndarray]:
        """One decoded sequence -> polygons, box and mask at ``out_hw``.

        Args:
            tokens (Tensor): (T,) decoded tokens (START first).
            coords (Tensor): (T, 2) normalised coordinates.
            out_hw (tuple): output (h, w) in pixels.
            scale (Tensor, optional): (2,) factors from the coordinates' normalisation to
                ``out_hw``'s (e.g. padded input -> original image).

        Returns:
            tuple: parts (pixel polygons of ``out_hw``), box (4,) float32 xyxy = Rect(parts)
            (the box tokens with ``box_polygon``), mask (H, W) bool = Fill(parts).
        """
        tokens, coords = tokens[None], coords[None]
        box_tokens = None
        if self.seq_format == 'box_polygon':
            box_tokens, tokens, coords = split_box_prefix(tokens, coords)
        if scale is None:
            scale = torch.ones(2, device=coords.device)
        coords = (coords * scale).cpu()
        parts = sequence_to_polygons(tokens.cpu()[0], coords[0], out_hw)
        if parts:
            box = polygons_to_box(parts)  # Box = Rect(P)
            mask = polygons_to_mask(parts, out_hw)  # Mask = Fill(P)
        else:
            box = np.zeros(4, np.float32)
            mask = np.zeros(out_hw, dtype=bool)
        if box_tokens is not None:  # LUCDP off: the separate box tokens give the box
            box = (box_tokens[0].cpu() * torch.tensor([out_hw[1], out_hw[0]] * 2) *
                   scale.repeat(2).cpu()).numpy()
        return parts, np.asarray(box, np.float32), mask

    def decode_objects(self, tokens: Tensor, coords: Tensor, out_hw: Tuple[int, int],
                       scale: Optional[Tensor] = None
                       ) -> List[Tuple[List[Dict], np.ndarray, np.ndarray]]:
        """One decoded generalized sequence -> per object (parts, box = Rect, mask = Fill) at
        ``out_hw`` (arguments as :meth:`decode`); ``[]`` when the sequence says "no target"."""
        if scale is None:
            scale = torch.ones(2, device=coords.device)
        coords = (coords * scale).cpu()
        return [(parts, np.asarray(polygons_to_box(parts), np.float32),
                 polygons_to_mask(parts, out_hw))
                for parts in sequence_to_objects(tokens.cpu(), coords, out_hw)]

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_vertices={self.num_vertices}, '
                f'with_holes={self.with_holes}, seq_format={self.seq_format!r}, '
                f'generalized={self.generalized}, budget={self.budget!r})')
