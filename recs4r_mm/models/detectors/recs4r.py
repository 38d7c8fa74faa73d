"""RECS4R detector: coarse-to-fine contour decoding for referring expression comprehension and
segmentation (box = Rect(P), mask = Fill(P) from one decoded vertex sequence)."""
import copy
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmdet.models.detectors.base import BaseDetector
from mmdet.structures import SampleList
from mmengine.logging import print_log
from mmengine.structures import InstanceData
from torch import Tensor

from recs4r_mm.registry import MODELS, TASK_UTILS
from recs4r_mm.structures import (TOKEN_COORD, BudgetStats, ContourBudget, box_to_sequence,
                                  pad_sequences, polygons_to_box, polygons_to_mask,
                                  sequence_to_polygons)
from ..heads.sequence_format import add_box_prefix, ring_ids_from_tokens, split_box_prefix
from ..layers.roi_crop import crop_and_resize, crop_to_image_coords, expand_boxes

DEFAULT_REFINE = dict(
    enable=True,  # False = single stage (RCE off in the paper's ablation)
    input_size=256,  # fine-stage input side (paper: the full input size; see SPEC 8)
    margin=0.2,  # context margin per side, relative to the coarse box size
    min_size=32,  # minimum crop side in input pixels
    share_weights=True,  # fine pass reuses neck/encoder/head (backbone, BERT always shared)
    text_template=dict(type='FineTextTemplate'),
    # training crops: 'gt_jitter' (jittered GT box), 'coarse' (teacher-forced coarse box) or
    # 'mixed' (coarse with probability coarse_prob, else gt_jitter)
    train_crop='gt_jitter',
    coarse_prob=0.5,
    jitter_shift=0.1,  # centre shift, fraction of the box size
    jitter_scale=0.15,  # log-uniform scale range
    size_prior=True,  # feed the coarse box's relative area to CIMF's scale gates
    # token budget of the fine text (template + expression); None = the expression budget
    # (text_encoder.max_tokens) plus 16 for the template, capped by BERT's position table
    text_max_tokens=None,
    # fine passes at inference: each later pass crops around the previous pass's contour
    # (1 = the paper's single fine pass)
    test_passes=1,
)


@MODELS.register_module()
class RECS4R(BaseDetector):
    """RECS4R (CVPR 2026) on mmdet.

    Args:
        backbone (dict): Any mm backbone with 4 output levels.
        text_encoder (dict): e.g. ``BertTextEncoder``.
        neck (dict): ``CIMF`` (``fusion_mode='sum'`` = CIMF off).
        encoder (dict): ``MultimodalFusionEncoder``.
        head (dict): ``LUCDPHead`` (``seq_format='box_polygon'`` = LUCDP off; its losses hold
            lambda_1..lambda_4).
        rce (dict, optional): ``RCE``; None = fine stage without residuals.
        refine (dict): Coarse-to-fine options, merged into ``DEFAULT_REFINE``.
        aux_head (dict, optional): ``GroundingAuxHead``, a dense grounding loss on each
            stage's fused visual map, optionally also the pointer's attention prior (not in
            the paper; None = off).
        num_vertices (int): Vertices per target sequence.
        with_holes (bool): Encode hole contours in the targets.
        contour_budget (dict, optional): Knobs of the budget rule that fits any GT mask into
            ``head.max_len`` (:class:`~recs4r_mm.structures.ContourBudget`):
            ``min_part_pixels`` (specks dropped first, default 3), ``max_contours`` (a lower
            cap than the token budget allows, default None) and ``measure_iou`` (measure the
            Fill IoU of reduced targets for the run's summary, default True).
        coarse_seq_loss_weight (float): Weight of L_cls/L1/smooth-L2 on the coarse pass
            (besides L_coarse); 0 = the coarse pass is supervised by L_coarse only.
        data_preprocessor (dict): mmdet ``DetDataPreprocessor``.
        test_cfg (dict, optional): ``use_cache``, ``max_len``, ``min_vertices``.
    """

    def __init__(self,
                 backbone: dict,
                 text_encoder: dict,
                 neck: dict,
                 encoder: dict,
                 head: dict,
                 rce: Optional[dict] = None,
                 refine: Optional[dict] = None,
                 aux_head: Optional[dict] = None,
                 num_vertices: int = 64,
                 with_holes: bool = True,
                 contour_budget: Optional[dict] = None,
                 coarse_seq_loss_weight: float = 1.0,
                 data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg=None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.text_encoder = MODELS.build(text_encoder)
        self.neck = MODELS.build(neck)
        self.encoder = MODELS.build(encoder)
        self.head = MODELS.build(head)
        d = self.encoder.embed_dims
        if self.head.embed_dims != d:
            raise ValueError(f'head.embed_dims={self.head.embed_dims} != '
                             f'encoder.embed_dims={d}')
        if self.text_encoder.out_channels != d:
            raise ValueError(f'text_encoder.out_channels={self.text_encoder.out_channels} != '
                             f'encoder.embed_dims={d}')
        neck_out = getattr(self.neck, 'out_channels', d)
        self.input_proj = nn.Conv2d(neck_out, d, 1) if neck_out != d else nn.Identity()

        self.refine_cfg = dict(DEFAULT_REFINE, **(refine or {}))
        unknown = set(self.refine_cfg) - set(DEFAULT_REFINE)
        if unknown:
            raise ValueError(f'RECS4R.refine: unknown keys {sorted(unknown)}')
        if int(self.refine_cfg['test_passes']) < 1:
            raise ValueError(f"refine.test_passes must be >= 1, got "
                             f"{self.refine_cfg['test_passes']}")
        if self.refine_cfg['train_crop'] not in ('gt_jitter', 'coarse', 'mixed'):
            raise ValueError("refine.train_crop must be 'gt_jitter', 'coarse' or 'mixed'")
        self.two_stage = bool(self.refine_cfg['enable'])
        self.rce = MODELS.build(rce) if (rce is not None and self.two_stage) else None
        self.text_template = TASK_UTILS.build(self.refine_cfg['text_template']) \
            if self.two_stage else None
        self.share_weights = bool(self.refine_cfg['share_weights'])
        if self.two_stage and not self.share_weights:
            self.fine_neck = MODELS.build(neck)
            self.fine_input_proj = copy.deepcopy(self.input_proj)
            self.fine_encoder = MODELS.build(encoder)
            self.fine_head = MODELS.build(head)
        self.aux_head = MODELS.build(aux_head) if aux_head is not None else None
        self.num_vertices = num_vertices
        self.with_holes = with_holes
        budget = dict(contour_budget or {})
        self.measure_budget_iou = bool(budget.pop('measure_iou', True))
        unknown = set(budget) - {'min_part_pixels', 'max_contours'}
        if unknown:
            raise ValueError(f'RECS4R.contour_budget: unknown keys {sorted(unknown)} (known: '
                             'min_part_pixels, max_contours, measure_iou)')
        # every GT target fits the head's max_len (box_polygon: after its 3 prefix tokens)
        self.contour_budget = ContourBudget(
            num_vertices, max_len=self.head.max_len, prefix_len=len(self.head.forced_prefix),
            with_holes=with_holes, **budget)
        # targets the budget rule reduced, per stage (logged by ContourBudgetLoggerHook)
        self.budget_stats = dict(coarse=BudgetStats(), fine=BudgetStats())
        self.coarse_seq_loss_weight = coarse_seq_loss_weight
        self.train_cfg = train_cfg or {}
        self.test_cfg = test_cfg or {}
        self._warned = set()

    # ------------------------------------------------------------------ modules per stage
    def _stage_modules(self, fine: bool):
        if fine and self.two_stage and not self.share_weights:
            return self.fine_neck, self.fine_input_proj, self.fine_encoder, self.fine_head
        return self.neck, self.input_proj, self.encoder, self.head

    def extract_feat(self, batch_inputs: Tensor) -> Tuple[Tensor, ...]:
        """Backbone features, a tuple of 4 maps."""
        return tuple(self.backbone(batch_inputs))

    def encode_text(self, texts: Sequence[str],
                    max_tokens: Optional[int] = None) -> Tuple[Tensor, Tensor]:
        """Strings -> text tokens (B, T, C) and mask (B, T)."""
        return self.text_encoder(list(texts), device=next(self.encoder.parameters()).device,
                                 max_tokens=max_tokens)

    def encode_fine_text(self, texts: Sequence[str], boxes_norm: Tensor):
        """T_f = template(size, category, position) + expression, with room for both: the
        template takes 11-15 tokens, which the expression's 20-token budget cannot hold."""
        budget = self.refine_cfg['text_max_tokens']
        if budget is None:
            budget = self.text_encoder.max_tokens + 16
        budget = min(budget, self.text_encoder.max_position_embeddings)
        return self.encode_text(self._fine_texts(texts, boxes_norm), max_tokens=budget)

    @staticmethod
    def _texts(batch_data_samples: SampleList) -> List[str]:
        texts = []
        for i, s in enumerate(batch_data_samples):
            if 'text' not in s.metainfo:
                raise KeyError(f'{s.metainfo.get("img_path", f"sample {i}")}: metainfo has no '
                               "'text' (add 'text' to PackDetInputs' meta_keys)")
            texts.append(s.metainfo['text'])
        return texts

    def encode_stage(self, images: Tensor, text: Tensor, text_mask: Tensor, fine: bool = False,
                     size_prior: Optional[Tensor] = None,
                     rce_args: Optional[tuple] = None) -> Tuple[Tensor, Tensor, Tensor]:
        """Backbone -> CIMF (text-guided) -> [RCE] -> multimodal encoder.

        Returns:
            tuple: memory (B, S, C), memory padding mask (B, S), visual map (B, C, h, w).
        """
        neck, proj, encoder, _ = self._stage_modules(fine)
        feats = self.extract_feat(images)
        fused = neck(feats, text, text_mask, size_prior)[0]
        fused = proj(fused)
        if rce_args is not None and self.rce is not None:
            fused = self.rce(fused, *rce_args)  # RCE: coarse stage as residual
        return encoder(fused, text, text_mask)

    def grounding(self, vis: Tensor) -> Tuple[Optional[Tensor], Optional[Tensor]]:
        """Grounding logits (B, h, w) of a stage's visual map and the pointer prior
        (B, h*w) they give (None when the aux head or its prior is off)."""
        if self.aux_head is None:
            return None, None
        logits = self.aux_head(vis)
        return logits, (logits.flatten(1) if self.aux_head.pointer_prior else None)

    # ------------------------------------------------------------------ targets
    def _warn_once(self, key: str, msg: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(msg)

    @staticmethod
    def _gt_mask_and_box(sample, hw: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
        """Union mask (H, W) bool (cropped/padded to ``hw``) and union box of the sample's GT."""
        gt = sample.gt_instances
        boxes = gt.bboxes
        boxes = boxes.tensor if hasattr(boxes, 'tensor') else torch.as_tensor(boxes)
        boxes = boxes.detach().float().cpu().reshape(-1, 4)
        if boxes.shape[0] == 0:
            raise ValueError(f'{sample.metainfo.get("img_path", "sample")}: no GT instance')
        box = np.concatenate([boxes[:, :2].min(0).values.numpy(),
                              boxes[:, 2:].max(0).values.numpy()])
        mask = np.zeros(hw, dtype=bool)
        if 'masks' in gt:
            m = gt.masks
            m = m.to_ndarray() if hasattr(m, 'to_ndarray') else (
                m.detach().cpu().numpy() if isinstance(m, Tensor) else np.asarray(m))
            m = m.reshape(-1, *m.shape[-2:]).any(0)
            h, w = min(hw[0], m.shape[0]), min(hw[1], m.shape[1])
            mask[:h, :w] = m[:h, :w]
        return mask, box

    def _encode_target(self, mask: np.ndarray, box: np.ndarray, box_only: bool,
                       hw: Tuple[int, int], key: str, warn: bool = True,
                       stage: str = 'coarse') -> Tuple[np.ndarray, np.ndarray, float]:
        """One target sequence (normalised by ``hw``) and its weight (0 = unusable target).

        Masks go through the contour budget rule, so the sequence always fits
        ``head.max_len``; a target the rule reduced is counted in ``budget_stats[stage]``.
        """
        nv = self.num_vertices
        seq = None
        if not box_only and mask.any():
            try:
                *seq, record = self.contour_budget.encode_mask(
                    mask, 'reduced' if self.measure_budget_iou else 'never')
            except ValueError:
                seq = None
            else:
                self._count_budget(record, stage, key)
        if seq is None:
            if not box_only and warn:
                self._warn_once('empty', f'{key}: empty/degenerate GT mask, training on its '
                                'box contour instead (warned once)')
            b = np.asarray(box, np.float64).copy()
            b[[0, 2]] = b[[0, 2]].clip(0, hw[1])
            b[[1, 3]] = b[[1, 3]].clip(0, hw[0])
            try:
                seq = box_to_sequence(b, hw, nv)
            except ValueError:
                if warn:
                    self._warn_once('degenerate', f'{key}: degenerate GT box {box.tolist()}, '
                                    'sample ignored in the loss (warned once)')
                return (*box_to_sequence([0, 0, hw[1], hw[0]], hw, nv), 0.0)
        tokens, coords = seq
        if self.head.seq_format == 'box_polygon':
            xy = coords[tokens == TOKEN_COORD]
            tokens, coords = add_box_prefix(tokens, coords,
                                            np.concatenate([xy.min(0), xy.max(0)]))
        return tokens, coords, 1.0

    def _batch_gt(self, batch_data_samples: SampleList, batch_hw: Tuple[int, int]):
        """GT masks (B, H, W) bool at the padded batch size, boxes (B, 4) px, box_only (B,)."""
        masks, boxes, box_only = [], [], []
        for s in batch_data_samples:
            m, b = self._gt_mask_and_box(s, batch_hw)
            masks.append(m)
            boxes.append(b)
            box_only.append(bool(s.metainfo.get('box_only', False)))
        return np.stack(masks), np.stack(boxes).astype(np.float32), np.array(box_only)

    def _count_budget(self, record, stage: str, key: str) -> None:
        stats = self.budget_stats[stage]
        stats.update(record, key)
        if record.reduced and stats.reduced == 1:
            limit = self.contour_budget.max_contours
            print_log(f'RECS4R: the {stage} target of {key} has {record.num_parts} part(s) and '
                      f'{record.num_holes} hole(s), more than the {limit} contours '
                      f'head.max_len={self.head.max_len} leaves room for; the budget rule '
                      'dropped the smallest (counted; summary at the end of training)',
                      logger='current')

    def _sequences(self, masks: np.ndarray, boxes: np.ndarray, box_only: np.ndarray,
                   hw: Tuple[int, int], keys: List[str], device, warn: bool = True,
                   stage: str = 'coarse'):
        seqs, weights = [], []
        for m, b, bo, k in zip(masks, boxes, box_only, keys):
            t, c, w = self._encode_target(m, b, bool(bo), hw, k, warn, stage)
            seqs.append((t, c))
            weights.append(w)
        tokens, coords = pad_sequences(seqs)
        return tokens.to(device), coords.to(device), torch.tensor(weights, device=device)

    # ------------------------------------------------------------------ training
    def _train_crop_boxes(self, coarse_boxes: Tensor, gt_boxes: Tensor) -> Tensor:
        """Source boxes (B, 4) px of the fine-stage crops during training (documented choice:
        a jittered GT box by default, so early, poor coarse predictions do not starve the fine
        stage; 'coarse'/'mixed' train on the coarse stage's own boxes)."""
        cfg = self.refine_cfg
        b = gt_boxes.shape[0]
        ctr = (gt_boxes[:, :2] + gt_boxes[:, 2:]) / 2
        size = (gt_boxes[:, 2:] - gt_boxes[:, :2]).clamp(min=1.0)
        shift = (torch.rand(b, 2, device=gt_boxes.device) * 2 - 1) * cfg['jitter_shift']
        scale = torch.exp((torch.rand(b, 2, device=gt_boxes.device) * 2 - 1) *
                          cfg['jitter_scale'])
        ctr, size = ctr + shift * size, size * scale
        jittered = torch.cat([ctr - size / 2, ctr + size / 2], dim=1)
        if cfg['train_crop'] == 'gt_jitter':
            return jittered
        if cfg['train_crop'] == 'coarse':
            return coarse_boxes
        use_coarse = torch.rand(b, device=gt_boxes.device) < cfg['coarse_prob']
        return torch.where(use_coarse[:, None], coarse_boxes, jittered)

    def _fine_texts(self, texts: Sequence[str], boxes_norm: Tensor) -> List[str]:
        return [self.text_template(t, b.tolist()) for t, b in zip(texts, boxes_norm.cpu())]

    def _fine_targets(self, masks_t: Tensor, gt_boxes: Tensor, box_only: np.ndarray,
                      crop_boxes: Tensor, keys: List[str], device):
        """Fine targets: GT cropped at the crop box and re-encoded in crop coordinates."""
        s = int(self.refine_cfg['input_size'])
        r = int(self.head.gcl_raster_size)
        crop_masks = crop_and_resize(masks_t, crop_boxes, (s, s)) >= 0.5  # (B, 1, s, s)
        gcl_masks = crop_and_resize(masks_t, crop_boxes, (r, r))[:, 0]
        size = (crop_boxes[:, 2:] - crop_boxes[:, :2]).clamp(min=1e-6)
        boxes_c = torch.cat([(gt_boxes[:, :2] - crop_boxes[:, :2]) / size,
                             (gt_boxes[:, 2:] - crop_boxes[:, :2]) / size], 1).clamp(0, 1) * s
        tokens, coords, weights = self._sequences(
            crop_masks[:, 0].cpu().numpy(), boxes_c.cpu().numpy(), box_only, (s, s), keys,
            device, warn=False, stage='fine')
        # an empty crop (the crop missed the object) cannot teach the fine stage
        has_fg = torch.tensor([bo or bool(m.any()) for bo, m in
                               zip(box_only, crop_masks[:, 0].cpu())], device=device)
        weights = weights * has_fg.to(weights)
        return tokens, coords, weights, gcl_masks

    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Teacher-forced losses of the coarse and fine passes."""
        device = batch_inputs.device
        b, _, hp, wp = batch_inputs.shape
        texts = self._texts(batch_data_samples)
        keys = [str(s.metainfo.get('img_path', f'sample {i}'))
                for i, s in enumerate(batch_data_samples)]
        img_hw = torch.tensor([s.metainfo.get('img_shape', (hp, wp))[:2]
                               for s in batch_data_samples], device=device, dtype=torch.float32)
        masks, boxes, box_only = self._batch_gt(batch_data_samples, (hp, wp))
        gt_boxes = torch.from_numpy(boxes).to(device)
        norm = torch.tensor([wp, hp, wp, hp], device=device, dtype=torch.float32)
        tokens, coords, weights = self._sequences(masks, boxes, box_only, (hp, wp), keys, device)
        text, text_mask = self.encode_text(texts)
        losses = dict()

        # ---- coarse (or single) pass on the full image
        memory, pad, vis = self.encode_stage(batch_inputs, text, text_mask, fine=False)
        _, _, _, head = self._stage_modules(False)
        ground, prior = self.grounding(vis)
        logits, pred_xy = head.forward_train(memory, pad, tokens, coords, vis.shape[-2:], prior)
        masks_t = torch.from_numpy(masks).to(device=device, dtype=torch.float32)[:, None]
        gcl_w = weights * torch.from_numpy(~box_only).to(weights)  # GCL: mask samples only
        if ground is not None:
            losses['loss_aux_mask'] = self.aux_head.loss(ground, masks_t[:, 0], gcl_w)
        if not self.two_stage:
            losses.update(head.loss_sequence(logits, pred_xy, tokens, coords, weights))
            r = int(head.gcl_raster_size)
            full = torch.tensor([[0, 0, wp, hp]], device=device, dtype=torch.float32).expand(b, 4)
            gcl_masks = crop_and_resize(masks_t, full, (r, r))[:, 0]
            losses.update(head.loss_gcl_by_outputs(pred_xy, tokens, gcl_masks, gcl_w))
            return losses
        if self.coarse_seq_loss_weight > 0:
            coarse = head.loss_sequence(logits, pred_xy, tokens, coords, weights)
            for k, v in coarse.items():
                losses[f'coarse_{k}'] = v * self.coarse_seq_loss_weight if 'loss' in k else v
        coarse_boxes = head.boxes_from_outputs(pred_xy, tokens)  # B_c = Rect(P_c), normalised
        losses.update(head.loss_coarse(coarse_boxes, gt_boxes / norm, weights))  # L_coarse

        # ---- fine pass on crops of the input image
        src = self._train_crop_boxes(coarse_boxes.detach() * norm, gt_boxes)
        crop_boxes = expand_boxes(src, img_hw, self.refine_cfg['margin'],
                                  self.refine_cfg['min_size'])
        s = int(self.refine_cfg['input_size'])
        images_f = crop_and_resize(batch_inputs, crop_boxes, (s, s))
        src_norm = (src / norm).clamp(0, 1)
        f_tokens, f_coords, f_weights, gcl_masks = self._fine_targets(
            masks_t, gt_boxes, box_only, crop_boxes, keys, device)
        text_f, text_mask_f = self.encode_fine_text(texts, src_norm)
        size_prior = self._size_prior(src_norm)
        memory_f, pad_f, vis_f = self.encode_stage(
            images_f, text_f, text_mask_f, fine=True, size_prior=size_prior,
            rce_args=(vis, src_norm, crop_boxes / norm))
        fine_mask_w = f_weights * torch.from_numpy(~box_only).to(f_weights)
        ground_f, prior_f = self.grounding(vis_f)
        if ground_f is not None:
            losses['loss_aux_mask_fine'] = self.aux_head.loss(ground_f, gcl_masks, fine_mask_w)
        _, _, _, head_f = self._stage_modules(True)
        logits_f, pred_xy_f = head_f.forward_train(memory_f, pad_f, f_tokens, f_coords,
                                                   vis_f.shape[-2:], prior_f)
        losses.update(head_f.loss_sequence(logits_f, pred_xy_f, f_tokens, f_coords, f_weights))
        losses.update(head_f.loss_gcl_by_outputs(
            pred_xy_f, f_tokens, gcl_masks, fine_mask_w))
        return losses

    def _size_prior(self, boxes_norm: Tensor) -> Optional[Tensor]:
        if not self.refine_cfg['size_prior']:
            return None
        wh = (boxes_norm[:, 2:] - boxes_norm[:, :2]).clamp(min=0)
        return wh[:, 0] * wh[:, 1]

    # ------------------------------------------------------------------ inference
    def _decoded_boxes(self, head, tokens: Tensor, coords: Tensor) -> Tensor:
        """Box (B, 4), normalised, of decoded sequences (Rect of the outer rings; the box
        tokens in 'box_polygon' format; the whole image if nothing was decoded)."""
        if head.seq_format == 'box_polygon':
            return split_box_prefix(tokens, coords)[0]
        ring, is_hole = ring_ids_from_tokens(tokens)
        outer = ((ring >= 0) & ~is_hole)[..., None]
        lo = torch.where(outer, coords, torch.full_like(coords, 2.0)).min(1).values
        hi = torch.where(outer, coords, torch.full_like(coords, -1.0)).max(1).values
        boxes = torch.cat([lo, hi], 1)
        empty = ~outer[..., 0].any(1)
        full = torch.tensor([0., 0., 1., 1.], device=coords.device, dtype=coords.dtype)
        return torch.where(empty[:, None], full.expand_as(boxes), boxes)

    def _decode_kwargs(self) -> dict:
        cfg = self.test_cfg
        return dict(use_cache=cfg.get('use_cache', None), max_len=cfg.get('max_len', None),
                    min_vertices=cfg.get('min_vertices', None))

    def decode(self, batch_inputs: Tensor, texts: Sequence[str],
               img_hw: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Coarse (and fine) greedy decoding.

        Args:
            batch_inputs (Tensor): (B, 3, H, W) preprocessed images.
            texts (Sequence[str]): B expressions.
            img_hw (Tensor, optional): (B, 2) valid (unpadded) size of each image.

        Returns:
            dict: ``tokens`` (B, T), ``coords`` (B, T, 2) normalised by the padded input size,
            ``scores`` (B,), ``coarse_boxes`` (B, 4) normalised, and the coarse sequence.
        """
        b, _, hp, wp = batch_inputs.shape
        device = batch_inputs.device
        if img_hw is None:
            img_hw = torch.tensor([[hp, wp]], device=device, dtype=torch.float32).expand(b, 2)
        norm = torch.tensor([wp, hp, wp, hp], device=device, dtype=torch.float32)
        kwargs = self._decode_kwargs()
        text, text_mask = self.encode_text(texts)
        memory, pad, vis = self.encode_stage(batch_inputs, text, text_mask, fine=False)
        head = self._stage_modules(False)[3]
        coarse = head.predict(memory, pad, memory_hw=vis.shape[-2:],
                              pointer_prior=self.grounding(vis)[1], **kwargs)
        coarse_boxes = self._decoded_boxes(head, coarse['tokens'], coarse['coords'])
        out = dict(coarse_tokens=coarse['tokens'], coarse_coords=coarse['coords'],
                   coarse_boxes=coarse_boxes)
        if not self.two_stage:
            out.update(tokens=coarse['tokens'], coords=coarse['coords'],
                       scores=coarse['scores'])
            return out
        boxes = coarse_boxes
        head_f = self._stage_modules(True)[3]
        for _ in range(int(self.refine_cfg['test_passes'])):
            fine, coords, crop_boxes = self._fine_pass(batch_inputs, texts, vis, boxes * norm,
                                                       img_hw, kwargs)
            # a later pass crops around this pass's contour (B_c <- Rect(P_f))
            boxes = self._decoded_boxes(head_f, fine['tokens'], coords)
        out.update(tokens=fine['tokens'], coords=coords, scores=fine['scores'],
                   crop_boxes=crop_boxes / norm)
        return out

    def _fine_pass(self, batch_inputs: Tensor, texts: Sequence[str], vis: Tensor, src: Tensor,
                   img_hw: Tensor, kwargs: dict) -> Tuple[Dict[str, Tensor], Tensor, Tensor]:
        """One fine pass around the boxes ``src`` (B, 4) px: the decoded sequence, its
        coordinates normalised by the padded input, and the crop boxes (B, 4) px."""
        b, _, hp, wp = batch_inputs.shape
        device = batch_inputs.device
        norm = torch.tensor([wp, hp, wp, hp], device=device, dtype=torch.float32)
        crop_boxes = expand_boxes(src, img_hw, self.refine_cfg['margin'],
                                  self.refine_cfg['min_size'])
        s = int(self.refine_cfg['input_size'])
        images_f = crop_and_resize(batch_inputs, crop_boxes, (s, s))
        src_norm = (src / norm).clamp(0, 1)
        text_f, text_mask_f = self.encode_fine_text(texts, src_norm)
        memory_f, pad_f, vis_f = self.encode_stage(
            images_f, text_f, text_mask_f, fine=True, size_prior=self._size_prior(src_norm),
            rce_args=(vis, src_norm, crop_boxes / norm))
        head_f = self._stage_modules(True)[3]
        fine = head_f.predict(memory_f, pad_f, memory_hw=vis_f.shape[-2:],
                              pointer_prior=self.grounding(vis_f)[1], **kwargs)
        coords = crop_to_image_coords(fine['coords'], crop_boxes,
                                      torch.tensor([[hp, wp]], device=device).expand(b, 2))
        coords = torch.where((fine['tokens'] == TOKEN_COORD)[..., None], coords,
                             torch.zeros_like(coords))
        return fine, coords, crop_boxes

    def predict(self, batch_inputs: Tensor, batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """Decode and attach ``pred_instances`` (bboxes, masks, scores, labels, polygons).

        With ``rescale`` the outputs are in the original image's pixels (masks at its size);
        box = Rect(polygons) and mask = Fill(polygons), both from the structures functions.
        """
        b, _, hp, wp = batch_inputs.shape
        device = batch_inputs.device
        texts = self._texts(batch_data_samples)
        img_hw = torch.tensor([s.metainfo.get('img_shape', (hp, wp))[:2]
                               for s in batch_data_samples], device=device, dtype=torch.float32)
        out = self.decode(batch_inputs, texts, img_hw)
        head = self._stage_modules(True)[3]
        results = []
        for i, sample in enumerate(batch_data_samples):
            tokens, coords = out['tokens'][i:i + 1], out['coords'][i:i + 1]
            box_tokens = None
            if head.seq_format == 'box_polygon':
                box_tokens, tokens, coords = split_box_prefix(tokens, coords)
            ih, iw = sample.metainfo.get('img_shape', (hp, wp))[:2]
            if rescale:
                oh, ow = sample.metainfo.get('ori_shape', (ih, iw))[:2]
                sf = sample.metainfo.get('scale_factor', (iw / ow, ih / oh))
                # normalised by the padded input -> normalised by the original image
                scale = torch.tensor([wp / sf[0] / ow, hp / sf[1] / oh], device=device)
                out_hw = (int(oh), int(ow))
            else:
                scale = torch.tensor([wp / iw, hp / ih], device=device)
                out_hw = (int(ih), int(iw))
            coords = (coords * scale).cpu()
            tokens = tokens.cpu()
            parts = sequence_to_polygons(tokens[0], coords[0], out_hw)
            if parts:
                box = polygons_to_box(parts)
                mask = polygons_to_mask(parts, out_hw)
            else:
                box = np.zeros(4, np.float32)
                mask = np.zeros(out_hw, dtype=bool)
            if box_tokens is not None:  # LUCDP off: the separate box tokens give the box
                box = (box_tokens[0].cpu() * torch.tensor(
                    [out_hw[1], out_hw[0]] * 2) * scale.repeat(2).cpu()).numpy()
            inst = InstanceData()
            inst.bboxes = torch.as_tensor(np.asarray(box, np.float32)).reshape(1, 4)
            inst.masks = torch.from_numpy(np.ascontiguousarray(mask))[None]
            inst.scores = out['scores'][i:i + 1].detach().float().cpu()
            inst.labels = torch.zeros(1, dtype=torch.long)
            inst.polygons = [parts]
            cb = out['coarse_boxes'][i].cpu() * scale.repeat(2).cpu() * torch.tensor(
                [out_hw[1], out_hw[0]] * 2)
            inst.coarse_bboxes = cb.reshape(1, 4).float()
            results.append(inst)
        return self.add_pred_to_datasample(batch_data_samples, results)

    def _forward(self, batch_inputs: Tensor,
                 batch_data_samples: Optional[SampleList] = None) -> Tuple[Tensor, ...]:
        """Raw decoding: (coarse tokens, coarse coords, tokens, coords, scores)."""
        b = batch_inputs.shape[0]
        texts = self._texts(batch_data_samples) if batch_data_samples else [''] * b
        out = self.decode(batch_inputs, texts)
        return (out['coarse_tokens'], out['coarse_coords'], out['tokens'], out['coords'],
                out['scores'])
