"""RECS4R detector (CVPR 2026, "Overall Architecture"): coarse pass -> B_c = Rect(P_c) -> crop
-> fine text T_f -> fine pass with RCE -> box = Rect(P_f), mask = Fill(P_f).

Data flow and the paper mapping: ``docs/design.md`` §1-§5; the sequence format and the
contour budget rule: ``docs/design.md`` §6 (:class:`ContourSequenceCoder`).
"""
import copy
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmdet.models.detectors.base import BaseDetector
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox_overlaps
from mmengine.structures import InstanceData
from torch import Tensor

from recs4r_mm.registry import MODELS, TASK_UTILS
from recs4r_mm.structures import TOKEN_COORD, TOKEN_END
from recs4r_mm.utils import reject_moved_options
from ..layers.roi_crop import crop_and_resize, crop_to_image_coords, expand_boxes

DEFAULT_REFINE = dict(
    # where the fine stage crops from: 'input' (the resized network input, the default so far)
    # or 'original' (the image as loaded, kept by the KeepOriginalImage step and normalised by
    # RECSDataPreprocessor: the paper's "crop from the original image", design.md §3)
    crop_source='input',
    # where the fine stage's targets are cropped from: 'input' (the GT resized with the image)
    # or 'original' (with crop_source='original': the GT as loaded, kept by KeepOriginalImage
    # placed after LoadRECSAnnotations, so the targets have the detail the crop's pixels have)
    fine_gt='input',
    input_size=256,  # fine-stage input side (the paper: the full input size; design.md §8)
    margin=0.2,  # context margin per side, relative to the coarse box size
    min_size=32,  # minimum crop side in input pixels
    share_weights=True,  # fine pass reuses neck/encoder/head (backbone, BERT always shared)
    text_template=dict(type='FineTextTemplate'),
    # training crops: 'gt_jitter' (jittered GT box), 'coarse' (teacher-forced coarse box) or
    # 'mixed' (coarse with probability coarse_prob, else gt_jitter)
    train_crop='gt_jitter',
    coarse_prob=0.5,
    # 'mixed': coarse_prob ramps linearly from 0 over this many training iterations (0 = none),
    # so the first, poor coarse boxes do not starve the fine stage (counted from the start of
    # this process: a resumed run ramps again)
    coarse_prob_warmup=0,
    # probability that a training crop comes instead from the coarse stage's free-running
    # (greedy, no-grad) box, the box it gets at inference, wrong objects included: the
    # confidence head's negatives (not in the paper; 0 = never decode in training)
    decoded_prob=0.0,
    # decoded_prob ramps linearly from 0 over this many training iterations (0 = none): the
    # first free-running boxes are noise
    decoded_prob_warmup=0,
    # stop the fine losses' gradient at the coarse box (crop place, T_f, size prior)
    detach_coarse=True,
    jitter_shift=0.1,  # centre shift, fraction of the box size
    jitter_scale=0.15,  # log-uniform scale range
    size_prior=True,  # feed the coarse box's relative area to CIMF's scale gates
    # how T_f is encoded: 'encode' (template + expression through BERT, the paper) or 'reuse'
    # (the template alone through BERT, followed by the coarse pass's expression states:
    # BERT reads ~13 instead of ~31 tokens in the fine pass; design.md §8)
    fine_text='encode',
    # token budget of what BERT reads in the fine pass; None = the expression budget
    # (text_encoder.max_tokens) plus 16 for the template ('encode') or 16 ('reuse'), capped by
    # BERT's position table
    text_max_tokens=None,
    # fine passes at inference: each later pass crops around the previous pass's contour
    # (1 = the paper's single fine pass)
    test_passes=1,
)

# Options of earlier versions and where they went (old configs fail with this message).
MOVED = {
    'num_vertices': 'model.sequence_coder.num_vertices',
    'with_holes': 'model.sequence_coder.with_holes',
    'contour_budget': 'model.sequence_coder.budget',
}
MOVED_REFINE = {'enable': 'model.refine=None (single stage, RCE off)'}
MOVED_HEAD = {'seq_format': 'model.sequence_coder.seq_format'}
MOVED_TEST_CFG = {
    k: f'model.head.test_cfg.{k}' for k in ('use_cache', 'max_len', 'min_vertices')}


class StageModules(NamedTuple):
    """The modules one pass runs after the shared backbone and text encoder."""
    neck: nn.Module
    input_proj: nn.Module
    encoder: nn.Module
    head: nn.Module


class FineFeatures(NamedTuple):
    """What the fine stage's encoder gives the head (see :meth:`RECS4R.fine_features`)."""
    memory: Tensor  # (B, S, C)
    padding_mask: Tensor  # (B, S)
    vis: Tensor  # (B, C, h, w)
    crop_boxes: Tensor  # (B, 4) px of the input
    grounding: Optional[Tensor]  # (B, h, w) aux-head logits
    pointer_prior: Optional[Tensor]  # (B, h*w)


@MODELS.register_module()
class RECS4R(BaseDetector):
    """RECS4R (CVPR 2026) on mmdet.

    Args:
        backbone (dict): Any mm backbone with 4 output levels.
        text_encoder (dict): e.g. ``BertTextEncoder``.
        neck (dict): ``CIMF`` (``variant='fpn_sum'`` = CIMF off).
        encoder (dict): ``MultimodalFusionEncoder``.
        head (dict): ``LUCDPHead`` (its losses hold lambda_1..lambda_4).
        sequence_coder (dict): ``ContourSequenceCoder``: ``num_vertices``, ``with_holes``,
            ``seq_format`` (``'box_polygon'`` = LUCDP off) and the contour ``budget`` knobs.
        rce (dict, optional): ``RCE``; None = fine stage without residuals.
        refine (dict, optional): Coarse-to-fine options, merged into ``DEFAULT_REFINE``;
            None = single stage (RCE off in the paper's ablation).
        aux_head (dict, optional): ``GroundingAuxHead``, a dense grounding loss on each
            stage's fused visual map, optionally also the pointer's attention prior (not in
            the paper; None = off).
        score_head (dict, optional): ``ContourScoreHead`` on the (last) fine pass: the
            ``pred_instances.scores`` become the probability that the answer is the referred
            object (not in the paper; None = the decoder's mean token probability).
        coarse_seq_loss_weight (float): Weight of L_cls/L1/smooth-L2 on the coarse pass
            (besides L_coarse); 0 = the coarse pass is supervised by L_coarse only.
        data_preprocessor (dict): mmdet ``DetDataPreprocessor``, or ``RECSDataPreprocessor``
            when ``refine.crop_source='original'``.
        train_cfg, test_cfg (dict, optional): Kept for mmdet's API; the decode limits live in
            ``head.test_cfg`` and the training tricks in ``head.train_cfg``.
    """

    def __init__(self,
                 backbone: dict,
                 text_encoder: dict,
                 neck: dict,
                 encoder: dict,
                 head: dict,
                 sequence_coder: Optional[dict] = None,
                 rce: Optional[dict] = None,
                 refine: Optional[dict] = {},  # noqa: B006 (read, never modified)
                 aux_head: Optional[dict] = None,
                 score_head: Optional[dict] = None,
                 coarse_seq_loss_weight: float = 1.0,
                 data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg=None,
                 **moved) -> None:
        reject_moved_options('RECS4R', moved, MOVED, unknown_is_error=True)
        reject_moved_options('RECS4R.test_cfg', test_cfg or {}, MOVED_TEST_CFG)
        reject_moved_options('RECS4R.head', head, MOVED_HEAD)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        coder_cfg = dict(dict(type='ContourSequenceCoder'), **(sequence_coder or {}))
        coder_cfg.setdefault('max_len', head.get('max_len', 80))
        self.coder = TASK_UTILS.build(coder_cfg)
        self.backbone = MODELS.build(backbone)
        self.text_encoder = MODELS.build(text_encoder)
        self.neck = MODELS.build(neck)
        self.encoder = MODELS.build(encoder)
        self.generalized = self.coder.generalized
        head = dict(head, seq_format=self.coder.seq_format, generalized=self.generalized)
        self.head = MODELS.build(head)
        if self.head.max_len != self.coder.budget.max_len:
            raise ValueError(f'sequence_coder.max_len={self.coder.budget.max_len} != '
                             f'head.max_len={self.head.max_len}: leave it unset')
        d = self.encoder.embed_dims
        if self.head.embed_dims != d:
            raise ValueError(f'head.embed_dims={self.head.embed_dims} != '
                             f'encoder.embed_dims={d}')
        if self.text_encoder.out_channels != d:
            raise ValueError(f'text_encoder.out_channels={self.text_encoder.out_channels} != '
                             f'encoder.embed_dims={d}')
        neck_out = getattr(self.neck, 'out_channels', d)
        self.input_proj = nn.Conv2d(neck_out, d, 1) if neck_out != d else nn.Identity()

        self.two_stage = refine is not None
        refine = dict(refine or {})
        reject_moved_options('RECS4R.refine', refine, MOVED_REFINE)
        unknown = set(refine) - set(DEFAULT_REFINE)
        if unknown:
            raise ValueError(f'RECS4R.refine: unknown keys {sorted(unknown)}')
        self.refine_cfg = dict(DEFAULT_REFINE, **refine)
        if int(self.refine_cfg['test_passes']) < 1:
            raise ValueError(f"refine.test_passes must be >= 1, got "
                             f"{self.refine_cfg['test_passes']}")
        if self.refine_cfg['crop_source'] not in ('input', 'original'):
            raise ValueError("refine.crop_source must be 'input' or 'original', got "
                             f"{self.refine_cfg['crop_source']!r}")
        if self.refine_cfg['fine_gt'] not in ('input', 'original'):
            raise ValueError("refine.fine_gt must be 'input' or 'original', got "
                             f"{self.refine_cfg['fine_gt']!r}")
        if self.refine_cfg['fine_gt'] == 'original' and \
                self.refine_cfg['crop_source'] != 'original':
            raise ValueError("refine.fine_gt='original' needs refine.crop_source='original'")
        if self.refine_cfg['train_crop'] not in ('gt_jitter', 'coarse', 'mixed'):
            raise ValueError("refine.train_crop must be 'gt_jitter', 'coarse' or 'mixed'")
        if self.refine_cfg['fine_text'] not in ('encode', 'reuse'):
            raise ValueError("refine.fine_text must be 'encode' or 'reuse', got "
                             f"{self.refine_cfg['fine_text']!r}")
        self._train_steps = 0  # loss() calls so far: the clock of the *_warmup options
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
        if score_head is not None and not self.two_stage:
            raise ValueError('score_head reads the fine pass: it needs refine (two stages)')
        self.score_head = MODELS.build(score_head) if score_head is not None else None
        if not 0.0 <= float(self.refine_cfg['decoded_prob']) <= 1.0:
            raise ValueError(f"refine.decoded_prob must be in [0, 1], got "
                             f"{self.refine_cfg['decoded_prob']}")
        self.coarse_seq_loss_weight = coarse_seq_loss_weight
        self.train_cfg = train_cfg or {}
        self.test_cfg = test_cfg or {}

    # ------------------------------------------------------------------ modules per stage
    @property
    def coarse_modules(self) -> StageModules:
        return StageModules(self.neck, self.input_proj, self.encoder, self.head)

    @property
    def fine_modules(self) -> StageModules:
        """The fine pass's modules (the coarse ones when weights are shared or single stage)."""
        if self.two_stage and not self.share_weights:
            return StageModules(self.fine_neck, self.fine_input_proj, self.fine_encoder,
                                self.fine_head)
        return self.coarse_modules

    @property
    def budget_stats(self):
        """Targets the contour budget rule reduced, per stage (ContourBudgetLoggerHook)."""
        return self.coder.budget_stats

    # ------------------------------------------------------------------ encoding
    def extract_feat(self, batch_inputs: Tensor) -> Tuple[Tensor, ...]:
        """Backbone features, a tuple of 4 maps."""
        return tuple(self.backbone(batch_inputs))

    def encode_text(self, texts: Sequence[str],
                    max_tokens: Optional[int] = None) -> Tuple[Tensor, Tensor]:
        """Strings -> text tokens (B, T, C) and mask (B, T)."""
        return self.text_encoder(list(texts), device=next(self.encoder.parameters()).device,
                                 max_tokens=max_tokens)

    def fine_texts(self, texts: Sequence[str], boxes_norm: Tensor) -> List[str]:
        """T_f of each sample: the template filled from its coarse box + the expression."""
        return [self.text_template(t, b.tolist()) for t, b in zip(texts, boxes_norm.cpu())]

    def encode_fine_text(self, texts: Sequence[str], boxes_norm: Tensor,
                         coarse_text: Optional[Tuple[Tensor, Tensor]] = None
                         ) -> Tuple[Tensor, Tensor]:
        """T_f = template(size, category, position) + expression: (B, T_f, C) and mask.

        ``fine_text='encode'``: both through BERT, with room for both (the template takes
        11-15 tokens, which the expression's 20-token budget cannot hold). ``'reuse'``: the
        template alone through BERT, then ``coarse_text`` (the coarse pass's expression
        states and mask), so the expression is read by BERT once.
        """
        budget = self.refine_cfg['text_max_tokens']
        reuse = self.refine_cfg['fine_text'] == 'reuse'
        if budget is None:
            budget = 16 if reuse else self.text_encoder.max_tokens + 16
        budget = min(budget, self.text_encoder.max_position_embeddings)
        if not reuse:
            return self.encode_text(self.fine_texts(texts, boxes_norm), max_tokens=budget)
        if coarse_text is None:
            raise ValueError("refine.fine_text='reuse' needs the coarse pass's text states")
        filled = [self.text_template.fill(t, b.tolist()) for t, b in zip(texts, boxes_norm.cpu())]
        tmpl, tmpl_mask = self.encode_text(filled, max_tokens=budget)
        return torch.cat([tmpl, coarse_text[0]], 1), torch.cat([tmpl_mask, coarse_text[1]], 1)

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
        neck, proj, encoder, _ = self.fine_modules if fine else self.coarse_modules
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

    def _size_prior(self, boxes_norm: Tensor) -> Optional[Tensor]:
        if not self.refine_cfg['size_prior']:
            return None
        wh = (boxes_norm[:, 2:] - boxes_norm[:, :2]).clamp(min=0)
        return wh[:, 0] * wh[:, 1]

    def _originals(self, batch_data_samples: SampleList) -> Optional[List[Tuple[Tensor, Tensor]]]:
        """Per sample, its original image (3, H', W') normalised and the factors (2,) from
        network-input pixels to its pixels; None when the fine stage crops the input."""
        if self.refine_cfg['crop_source'] != 'original' or not self.two_stage:
            return None
        out = []
        for i, s in enumerate(batch_data_samples):
            if 'ori_img' not in s:
                raise KeyError(f'{s.metainfo.get("img_path", f"sample {i}")}: no ori_img for '
                               "refine.crop_source='original': add KeepOriginalImage before "
                               'Resize, PackRECSInputs and RECSDataPreprocessor (design.md §3)')
            out.append((s.ori_img, self._input_to_original(s, s.ori_img.device)))
        return out

    @staticmethod
    def _input_to_original(sample, device) -> Tensor:
        """Factors (4,) from network-input pixels (xyxy) to the sample's kept original."""
        sf = sample.metainfo.get('scale_factor', (1.0, 1.0))
        osx, osy = sample.metainfo.get('ori_img_scale', (1.0, 1.0))
        return torch.tensor([osx / sf[0], osy / sf[1]] * 2, device=device)

    def _object_crops(self, batch_data_samples: SampleList, obj_masks: List[np.ndarray],
                      crop_boxes: Tensor, size: int, gcl_size: int
                      ) -> Tuple[List[Tensor], Tensor]:
        """Generalized fine targets: per sample its objects' masks (N_i, 1, size, size) cropped
        at ``crop_boxes`` (B, 4) input px, from the GT as loaded (``fine_gt='original'``:
        ``ori_gt_masks`` (N, H', W') of ``KeepOriginalImage(instances=True)``) or from
        ``obj_masks`` at the input, and the union (B, 1, gcl_size, gcl_size) for GCL."""
        original = self.refine_cfg['fine_gt'] == 'original'
        crops, unions = [], []
        for i, (s, box) in enumerate(zip(batch_data_samples, crop_boxes)):
            if original:
                m = s.ori_gt_masks if 'ori_gt_masks' in s else None
                if m is None:
                    raise KeyError(f'{s.metainfo.get("img_path", f"sample {i}")}: a generalized '
                                   "model with refine.fine_gt='original' needs each object's "
                                   'mask as loaded: KeepOriginalImage(instances=True) after '
                                   'LoadRECSAnnotations in the train pipeline')
                m = m.to(crop_boxes.device, torch.float32)
                box = box * self._input_to_original(s, crop_boxes.device)
            else:
                m = torch.from_numpy(obj_masks[i]).to(crop_boxes.device, torch.float32)
            m = m.reshape(-1, 1, *m.shape[-2:])
            if m.shape[0] == 0:
                crops.append(m.new_zeros(0, 1, size, size))
                unions.append(m.new_zeros(1, 1, gcl_size, gcl_size))
                continue
            boxes = box[None].expand(m.shape[0], 4)
            crops.append(crop_and_resize(m, boxes, (size, size)))
            union = m.amax(0, keepdim=True)
            unions.append(crop_and_resize(union, box[None], (gcl_size, gcl_size)))
        return crops, torch.cat(unions)

    def _original_gt_crops(self, batch_data_samples: SampleList, crop_boxes: Tensor,
                           sizes: Sequence[int]) -> List[Tensor]:
        """The GT union masks at native resolution (``ori_gt_mask``) cropped at ``crop_boxes``
        (B, 4) input pixels, one (B, 1, s, s) float tensor per side in ``sizes``."""
        crops = [[] for _ in sizes]
        for i, (s, box) in enumerate(zip(batch_data_samples, crop_boxes)):
            if 'ori_gt_mask' not in s:
                raise KeyError(f'{s.metainfo.get("img_path", f"sample {i}")}: no ori_gt_mask '
                               "for refine.fine_gt='original': put KeepOriginalImage after "
                               'LoadRECSAnnotations (and before Resize) in the train pipeline')
            m = s.ori_gt_mask.to(crop_boxes.device, torch.float32)
            m = m.reshape(1, 1, *m.shape[-2:])
            box = (box * self._input_to_original(s, crop_boxes.device))[None]
            for k, size in enumerate(sizes):
                crops[k].append(crop_and_resize(m, box, (size, size)))
        return [torch.cat(c) for c in crops]

    def fine_images(self, batch_inputs: Tensor, crop_boxes: Tensor,
                    originals: Optional[List[Tuple[Tensor, Tensor]]] = None) -> Tensor:
        """I_f: the crops (B, 3, s, s) at ``crop_boxes`` (B, 4), pixels of the network input,
        sampled from the input or, with ``originals`` (see :meth:`_originals`), from each
        sample's original image at the same place."""
        s = int(self.refine_cfg['input_size'])
        if originals is None:
            return crop_and_resize(batch_inputs, crop_boxes, (s, s))
        return torch.cat([
            crop_and_resize(img[None], (box * scale)[None], (s, s))
            for (img, scale), box in zip(originals, crop_boxes)]).to(batch_inputs.dtype)

    def fine_features(self, batch_inputs: Tensor, texts: Sequence[str], vis: Tensor,
                      src: Tensor, img_hw: Tensor,
                      originals: Optional[List[Tuple[Tensor, Tensor]]] = None,
                      coarse_text: Optional[Tuple[Tensor, Tensor]] = None) -> FineFeatures:
        """The fine stage up to its head, for training and inference alike: crop around
        ``src`` (B, 4) px of the input with the context margin (from the input or from the
        ``originals``), build T_f from ``src`` (with ``coarse_text``, the coarse pass's text
        states, for ``fine_text='reuse'``), encode the crop with RCE taking the coarse visual
        map ``vis`` and ``src`` as residuals."""
        b, _, hp, wp = batch_inputs.shape
        norm = torch.tensor([wp, hp, wp, hp], device=batch_inputs.device, dtype=torch.float32)
        crop_boxes = expand_boxes(src, img_hw, self.refine_cfg['margin'],
                                  self.refine_cfg['min_size'])
        images_f = self.fine_images(batch_inputs, crop_boxes, originals)
        memory, pad, vis_f, ground, prior = self.encode_fine(
            images_f, texts, vis, (src / norm).clamp(0, 1), crop_boxes / norm, coarse_text)
        return FineFeatures(memory, pad, vis_f, crop_boxes, ground, prior)

    def encode_fine(self, images_f: Tensor, texts: Sequence[str], vis: Tensor,
                    src_norm: Tensor, crop_norm: Tensor,
                    coarse_text: Optional[Tuple[Tensor, Tensor]] = None) -> tuple:
        """The fine stage on crops already made (by :meth:`fine_features`, or read from a
        scene by ``SceneInferencer``): T_f from the source boxes ``src_norm`` (B, 4), then
        backbone -> CIMF (size prior) -> RCE (coarse map ``vis``, ``src_norm`` and the crop
        boxes ``crop_norm`` (B, 4), both normalised by the coarse input) -> encoder.

        Returns:
            tuple: memory (B, S, C), padding mask (B, S), visual map (B, C, h, w), grounding
            logits and pointer prior (None when the aux head is off).
        """
        text_f, text_mask_f = self.encode_fine_text(texts, src_norm, coarse_text)
        memory, pad, vis_f = self.encode_stage(
            images_f, text_f, text_mask_f, fine=True, size_prior=self._size_prior(src_norm),
            rce_args=(vis, src_norm, crop_norm))
        return (memory, pad, vis_f, *self.grounding(vis_f))

    # ------------------------------------------------------------------ training
    @staticmethod
    def _gt_arrays(gt, hw: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
        """A sample's GT boxes (N, 4) float32 px and masks (M, H, W) bool cropped/padded to
        ``hw`` (M = 0 without masks)."""
        boxes = gt.bboxes
        boxes = boxes.tensor if hasattr(boxes, 'tensor') else torch.as_tensor(boxes)
        boxes = boxes.detach().float().cpu().reshape(-1, 4).numpy()
        if 'masks' not in gt:
            return boxes, np.zeros((0, *hw), dtype=bool)
        m = gt.masks
        m = m.to_ndarray() if hasattr(m, 'to_ndarray') else (
            m.detach().cpu().numpy() if isinstance(m, Tensor) else np.asarray(m))
        m = m.reshape(-1, *m.shape[-2:]).astype(bool)
        masks = np.zeros((m.shape[0], *hw), dtype=bool)
        h, w = min(hw[0], m.shape[1]), min(hw[1], m.shape[2])
        masks[:, :h, :w] = m[:, :h, :w]
        return boxes, masks

    @classmethod
    def _gt_mask_and_box(cls, sample, hw: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
        """Union mask (H, W) bool (cropped/padded to ``hw``) and union box of the sample's GT."""
        boxes, masks = cls._gt_arrays(sample.gt_instances, hw)
        if boxes.shape[0] == 0:
            raise ValueError(f'{sample.metainfo.get("img_path", "sample")}: no GT instance ("'
                             f'{sample.metainfo.get("text", "")}" is a no-target expression): '
                             'train it with a generalized config '
                             '(sequence_coder.generalized=True, e.g. '
                             'configs/recs4r_tiny_synthetic_generalized.py)')
        box = np.concatenate([boxes[:, :2].min(0), boxes[:, 2:].max(0)])
        return masks.any(0), box

    def _batch_gt(self, batch_data_samples: SampleList, batch_hw: Tuple[int, int]):
        """GT masks (B, H, W) bool at the padded batch size, boxes (B, 4) px, box_only (B,)."""
        masks, boxes, box_only = [], [], []
        for s in batch_data_samples:
            m, b = self._gt_mask_and_box(s, batch_hw)
            masks.append(m)
            boxes.append(b)
            box_only.append(bool(s.metainfo.get('box_only', False)))
        return np.stack(masks), np.stack(boxes).astype(np.float32), np.array(box_only)

    def _batch_objects(self, batch_data_samples: SampleList, batch_hw: Tuple[int, int]):
        """Generalized GT: per sample its objects' masks (N_i, H, W) bool at the padded batch
        size and boxes (N_i, 4) px (N_i = 0: no target), then as :meth:`_batch_gt` the union
        masks (B, H, W), union boxes (B, 4) (zeros without a target), box_only (B,), and
        ``present`` (B,) bool."""
        obj_masks, obj_boxes, box_only = [], [], []
        for s in batch_data_samples:
            b, src = self._gt_arrays(s.gt_instances, batch_hw)
            m = np.zeros((b.shape[0], *batch_hw), dtype=bool)  # one mask per box
            m[:src.shape[0]] = src[:b.shape[0]]
            obj_masks.append(m)
            obj_boxes.append(b)
            box_only.append(bool(s.metainfo.get('box_only', False)))
        present = np.array([b.shape[0] > 0 for b in obj_boxes])
        masks = np.stack([m.any(0) for m in obj_masks])
        boxes = np.stack([np.concatenate([b[:, :2].min(0), b[:, 2:].max(0)]) if b.shape[0]
                          else np.zeros(4, np.float32) for b in obj_boxes]).astype(np.float32)
        return obj_masks, obj_boxes, masks, boxes, np.array(box_only), present

    @torch.no_grad()
    def _decoded_boxes(self, memory: Tensor, pad: Tensor, vis: Tensor, prior: Optional[Tensor],
                       which: Tensor) -> Tensor:
        """The coarse stage's free-running greedy boxes (B, 4), normalised, as at inference
        (dropout off), decoded for the samples ``which`` (B,) bool only; the whole image for
        the others and where it decodes nothing."""
        boxes = memory.new_tensor([0., 0., 1., 1.]).repeat(memory.shape[0], 1)
        if not bool(which.any()):
            return boxes
        was_training = self.head.training
        self.head.eval()
        try:
            out = self.head.predict(memory[which].detach(), pad[which], memory_hw=vis.shape[-2:],
                                    pointer_prior=None if prior is None else prior[which].detach())
        finally:
            self.head.train(was_training)
        boxes[which] = self.coder.rect(out['tokens'], out['coords'])
        return boxes

    def _train_crop_boxes(self, coarse_boxes: Tensor, gt_boxes: Tensor,
                          decoded: Optional[Tensor] = None, use_decoded: Optional[Tensor] = None,
                          present: Optional[Tensor] = None,
                          img_hw: Optional[Tensor] = None) -> Tensor:
        """Source boxes (B, 4) px of the fine-stage crops during training (documented choice:
        a jittered GT box by default, so early, poor coarse predictions do not starve the fine
        stage; 'coarse'/'mixed' train on the coarse stage's own boxes). Samples ``use_decoded``
        (B,) bool crop ``decoded`` (B, 4) px, the free-running coarse boxes; the other samples
        without a target (``present`` False) crop a random box of the image (``img_hw``
        (B, 2))."""
        src = self._gt_or_coarse_boxes(coarse_boxes, gt_boxes)
        if present is not None and not bool(present.all()):
            hw = img_hw.flip(-1).to(src)  # (w, h)
            size = hw * (0.1 + 0.4 * torch.rand_like(hw))
            lo = (hw - size) * torch.rand_like(hw)
            src = torch.where(present[:, None], src, torch.cat([lo, lo + size], 1))
        if decoded is not None:
            src = torch.where(use_decoded[:, None], decoded, src)
        return src

    def _gt_or_coarse_boxes(self, coarse_boxes: Tensor, gt_boxes: Tensor) -> Tensor:
        """Jittered GT boxes, teacher-forced coarse boxes or a mix (``refine.train_crop``)."""
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
        p = float(cfg['coarse_prob'])
        if cfg['coarse_prob_warmup'] > 0:
            p *= min(1.0, self._train_steps / float(cfg['coarse_prob_warmup']))
        use_coarse = torch.rand(b, device=gt_boxes.device) < p
        return torch.where(use_coarse[:, None], coarse_boxes, jittered)

    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Teacher-forced losses of the coarse and fine passes."""
        device = batch_inputs.device
        b, _, hp, wp = batch_inputs.shape
        texts = self._texts(batch_data_samples)
        keys = [str(s.metainfo.get('img_path', f'sample {i}'))
                for i, s in enumerate(batch_data_samples)]
        img_hw = torch.tensor([s.metainfo.get('img_shape', (hp, wp))[:2]
                               for s in batch_data_samples], device=device, dtype=torch.float32)
        norm = torch.tensor([wp, hp, wp, hp], device=device, dtype=torch.float32)
        if self.generalized:  # any number of objects per sample, separated by OBJ
            obj_masks, obj_boxes, masks, boxes, box_only, present = self._batch_objects(
                batch_data_samples, (hp, wp))
            tokens, coords, weights = self.coder.encode_objects(obj_masks, obj_boxes, box_only,
                                                                (hp, wp), keys, device)
        else:
            masks, boxes, box_only = self._batch_gt(batch_data_samples, (hp, wp))
            present = np.ones(b, dtype=bool)
            tokens, coords, weights = self.coder.encode(masks, boxes, box_only, (hp, wp), keys,
                                                        device)
        gt_boxes = torch.from_numpy(boxes).to(device)
        present_t = torch.from_numpy(present).to(device)
        text, text_mask = self.encode_text(texts)
        losses = dict()

        # ---- coarse (or single) pass on the full image
        memory, pad, vis = self.encode_stage(batch_inputs, text, text_mask, fine=False)
        head = self.head
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
        coarse_boxes = self.coder.rect(tokens[:, 1:], pred_xy)  # B_c = Rect(P_c), normalised
        # L_coarse (no box to regress without a target)
        losses.update(head.loss_coarse(coarse_boxes, gt_boxes / norm,
                                       weights * present_t.to(weights)))

        # ---- fine pass on crops of the input (or original) image
        if self.refine_cfg['detach_coarse']:
            coarse_boxes = coarse_boxes.detach()
        decoded = use_decoded = None
        if self.refine_cfg['decoded_prob'] > 0:  # crops where the model itself would look
            p = float(self.refine_cfg['decoded_prob'])
            if self.refine_cfg['decoded_prob_warmup'] > 0:
                p *= min(1.0, self._train_steps / float(self.refine_cfg['decoded_prob_warmup']))
            use_decoded = torch.rand(b, device=device) < p
            decoded = self._decoded_boxes(memory, pad, vis, prior, use_decoded) * norm
        src = self._train_crop_boxes(coarse_boxes * norm, gt_boxes, decoded, use_decoded,
                                     None if present.all() else present_t, img_hw)
        self._train_steps += 1
        fine = self.fine_features(batch_inputs, texts, vis, src, img_hw,
                                  self._originals(batch_data_samples), (text, text_mask))
        head_f = self.fine_modules.head
        crop_boxes = fine.crop_boxes.detach()  # the targets never move with the coarse box
        s_f, r = int(self.refine_cfg['input_size']), int(head_f.gcl_raster_size)
        if self.generalized:  # each object's crop, in crop coordinates
            obj_crops, gcl_masks = self._object_crops(batch_data_samples, obj_masks,
                                                      crop_boxes, s_f, r)
            f_tokens, f_coords, f_weights = self.coder.encode_object_crops(
                obj_crops, [torch.from_numpy(b_).to(device) for b_ in obj_boxes], box_only,
                crop_boxes, s_f, keys)
        elif self.refine_cfg['fine_gt'] == 'original':  # the GT at the crop's own resolution
            crop_masks, gcl_masks = self._original_gt_crops(batch_data_samples, crop_boxes,
                                                            (s_f, r))
        else:
            crop_masks = crop_and_resize(masks_t, crop_boxes, (s_f, s_f))
            gcl_masks = crop_and_resize(masks_t, crop_boxes, (r, r))
        gcl_masks = gcl_masks[:, 0]
        if not self.generalized:
            f_tokens, f_coords, f_weights = self.coder.encode_crops(
                crop_masks, gt_boxes, box_only, crop_boxes, s_f, keys)
        fine_mask_w = f_weights * torch.from_numpy(~box_only).to(f_weights)
        if fine.grounding is not None:
            losses['loss_aux_mask_fine'] = self.aux_head.loss(fine.grounding, gcl_masks,
                                                              fine_mask_w)
        logits_f, pred_xy_f = head_f.forward_train(fine.memory, fine.padding_mask, f_tokens,
                                                   f_coords, fine.vis.shape[-2:],
                                                   fine.pointer_prior)
        # Eq. (L) on the fine pass: L_cls + λ1 L1 + λ2 smooth-L2, then λ4 L_gcl
        losses.update(head_f.loss_sequence(logits_f, pred_xy_f, f_tokens, f_coords, f_weights))
        losses.update(head_f.loss_gcl_by_outputs(
            pred_xy_f, f_tokens, gcl_masks, fine_mask_w))
        if self.score_head is not None:  # is the crop's source box the target?
            src_iou = bbox_overlaps(src.detach(), gt_boxes, is_aligned=True)
            from_gt = present_t if use_decoded is None else present_t & ~use_decoded
            if self.refine_cfg['train_crop'] != 'gt_jitter':
                from_gt = torch.zeros_like(present_t)  # teacher-forced boxes: by IoU
            losses.update(self.score_head.loss(
                self.score_head(fine.memory, fine.padding_mask), src_iou, present_t, from_gt))
        return losses

    # ------------------------------------------------------------------ inference
    def decode(self, batch_inputs: Tensor, texts: Sequence[str],
               img_hw: Optional[Tensor] = None,
               originals: Optional[List[Tuple[Tensor, Tensor]]] = None) -> Dict[str, Tensor]:
        """Coarse (and fine) greedy decoding.

        Args:
            batch_inputs (Tensor): (B, 3, H, W) preprocessed images.
            texts (Sequence[str]): B expressions.
            img_hw (Tensor, optional): (B, 2) valid (unpadded) size of each image.
            originals (list, optional): original images to crop the fine stage from
                (:meth:`_originals`); None = crop the input.

        Returns:
            dict: ``tokens`` (B, T), ``coords`` (B, T, 2) normalised by the padded input size,
            ``scores`` (B,) (the confidence head's probability when it is on), ``empty`` (B,)
            bool (the coarse or the final sequence says "no target"; generalized models only),
            ``coarse_boxes`` (B, 4) normalised, the coarse sequence, and (generalized heads)
            ``no_target_prob`` / ``fine_no_target_prob`` (B,), each stage's probability of
            END as its first token.
        """
        b, _, hp, wp = batch_inputs.shape
        device = batch_inputs.device
        if img_hw is None:
            img_hw = torch.tensor([[hp, wp]], device=device, dtype=torch.float32).expand(b, 2)
        norm = torch.tensor([wp, hp, wp, hp], device=device, dtype=torch.float32)
        text, text_mask = self.encode_text(texts)
        memory, pad, vis = self.encode_stage(batch_inputs, text, text_mask, fine=False)
        coarse = self.head.predict(memory, pad, memory_hw=vis.shape[-2:],
                                   pointer_prior=self.grounding(vis)[1])
        coarse_boxes = self.coder.rect(coarse['tokens'], coarse['coords'])  # B_c = Rect(P_c)
        out = dict(coarse_tokens=coarse['tokens'], coarse_coords=coarse['coords'],
                   coarse_boxes=coarse_boxes, no_target_prob=coarse['no_target_prob'])
        if not self.two_stage:
            out.update(tokens=coarse['tokens'], coords=coarse['coords'],
                       scores=coarse['scores'])
            return out
        boxes = coarse_boxes
        head_f = self.fine_modules.head
        for _ in range(int(self.refine_cfg['test_passes'])):
            feats = self.fine_features(batch_inputs, texts, vis, boxes * norm, img_hw,
                                       originals, (text, text_mask))
            fine = head_f.predict(feats.memory, feats.padding_mask,
                                  memory_hw=feats.vis.shape[-2:],
                                  pointer_prior=feats.pointer_prior)
            # crop coordinates -> coordinates of the padded input
            coords = crop_to_image_coords(fine['coords'], feats.crop_boxes,
                                          torch.tensor([[hp, wp]], device=device).expand(b, 2))
            coords = torch.where((fine['tokens'] == TOKEN_COORD)[..., None], coords,
                                 torch.zeros_like(coords))
            # a later pass crops around this pass's contour (B_c <- Rect(P_f))
            boxes = self.coder.rect(fine['tokens'], coords)
        scores = fine['scores']
        if self.score_head is not None:
            scores = self.score_head(feats.memory, feats.padding_mask).sigmoid()
        out.update(tokens=fine['tokens'], coords=coords, scores=scores,
                   crop_boxes=feats.crop_boxes / norm,
                   fine_no_target_prob=fine['no_target_prob'])
        if self.generalized:  # START, END at either stage: "no target"
            out['empty'] = (coarse['tokens'][:, 1] == TOKEN_END) | \
                (fine['tokens'][:, 1] == TOKEN_END)
        return out

    @staticmethod
    def _output_scale(sample, padded_hw: Tuple[int, int], rescale: bool
                      ) -> Tuple[Tensor, Tuple[int, int]]:
        """Factors (2,) from coordinates normalised by the padded input to coordinates
        normalised by the output image (the original one with ``rescale``, else the network
        input), and that output's (h, w)."""
        hp, wp = padded_hw
        ih, iw = sample.metainfo.get('img_shape', (hp, wp))[:2]
        if rescale:
            oh, ow = sample.metainfo.get('ori_shape', (ih, iw))[:2]
            sf = sample.metainfo.get('scale_factor', (iw / ow, ih / oh))
            return torch.tensor([wp / sf[0] / ow, hp / sf[1] / oh]), (int(oh), int(ow))
        return torch.tensor([wp / iw, hp / ih]), (int(ih), int(iw))

    def predict(self, batch_inputs: Tensor, batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """Decode and attach ``pred_instances`` (bboxes, masks, scores, labels, polygons).

        With ``rescale`` the outputs are in the original image's pixels (masks at its size);
        box = Rect(polygons) and mask = Fill(polygons) (:meth:`ContourSequenceCoder.decode`).
        """
        _, _, hp, wp = batch_inputs.shape
        device = batch_inputs.device
        texts = self._texts(batch_data_samples)
        img_hw = torch.tensor([s.metainfo.get('img_shape', (hp, wp))[:2]
                               for s in batch_data_samples], device=device, dtype=torch.float32)
        out = self.decode(batch_inputs, texts, img_hw, self._originals(batch_data_samples))
        for s in batch_data_samples:  # not needed any more; keeps dumps of the results small
            if 'ori_img' in s:
                del s.ori_img
        results = []
        for i, sample in enumerate(batch_data_samples):
            scale, out_hw = self._output_scale(sample, (hp, wp), rescale)
            scale = scale.to(device)
            if self.generalized:
                results.append(self._objects_to_instances(out, i, scale, out_hw))
                continue
            # Box = Rect(P_f), Mask = Fill(P_f) (Key Design 1)
            parts, box, mask = self.coder.decode(out['tokens'][i], out['coords'][i], out_hw,
                                                 scale)
            inst = InstanceData()
            inst.bboxes = torch.as_tensor(box).reshape(1, 4)
            inst.masks = torch.from_numpy(np.ascontiguousarray(mask))[None]
            inst.scores = out['scores'][i:i + 1].detach().float().cpu()
            inst.labels = torch.zeros(1, dtype=torch.long)
            inst.polygons = [parts]
            cb = out['coarse_boxes'][i].cpu() * scale.repeat(2).cpu() * torch.tensor(
                [out_hw[1], out_hw[0]] * 2)
            inst.coarse_bboxes = cb.reshape(1, 4).float()
            results.append(inst)
        return self.add_pred_to_datasample(batch_data_samples, results)

    def _objects_to_instances(self, out: Dict[str, Tensor], i: int, scale: Tensor,
                              out_hw: Tuple[int, int]) -> InstanceData:
        """Generalized prediction of sample ``i``: one instance per decoded object (box =
        Rect, mask = Fill of its contours), none when the sequence says "no target" or the
        score is under ``test_cfg.score_thr``; every instance carries the sample's score."""
        score = out['scores'][i].detach().float().cpu()
        thr = self.test_cfg.get('score_thr')
        objects = [] if bool(out['empty'][i]) or (thr is not None and score < thr) else \
            self.coder.decode_objects(out['tokens'][i], out['coords'][i], out_hw, scale)
        k = len(objects)
        inst = InstanceData()
        inst.bboxes = torch.as_tensor(np.stack([o[1] for o in objects]) if k else
                                      np.zeros((0, 4), np.float32)).reshape(k, 4)
        inst.masks = torch.from_numpy(np.stack([o[2] for o in objects]) if k else
                                      np.zeros((0, *out_hw), dtype=bool))
        inst.scores = score.repeat(k)
        inst.labels = torch.zeros(k, dtype=torch.long)
        inst.polygons = [o[0] for o in objects]
        cb = out['coarse_boxes'][i].cpu() * scale.repeat(2).cpu() * torch.tensor(
            [out_hw[1], out_hw[0]] * 2)
        inst.coarse_bboxes = cb.reshape(1, 4).float().repeat(k, 1)
        return inst

    def _forward(self, batch_inputs: Tensor,
                 batch_data_samples: Optional[SampleList] = None) -> Tuple[Tensor, ...]:
        """Raw decoding: (coarse tokens, coarse coords, tokens, coords, scores)."""
        b = batch_inputs.shape[0]
        texts = self._texts(batch_data_samples) if batch_data_samples else [''] * b
        out = self.decode(batch_inputs, texts)
        return (out['coarse_tokens'], out['coarse_coords'], out['tokens'], out['coords'],
                out['scores'])
