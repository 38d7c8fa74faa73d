"""LUCDP head: Language-conditioned Unified Contour Decoding of Polygons.

RECS4R (CVPR 2026), Key Design 1 (LUCDP) and the losses of Loss & Training; built on
PolyFormer's regression-based decoder (Liu et al., CVPR 2023). docs/design.md §2 step 5, §5, §8.

One autoregressive stream of contour vertices gives both the mask (Fill) and the box (Rect).
Each step emits a token class (coordinate / separator / start / end / hole) and a continuous
(x, y) in [0, 1]; the next step's input for a coordinate is the bilinear mix of the 4 nearest
learned grid embeddings.

The memory is ``(B, S, C)`` with the ``h x w`` visual tokens first (row-major) and the text
tokens after them; passing ``memory_hw=(h, w)`` lets the head add the visual tokens' 2-D
position code to its cross-attention keys and, with ``reg_mode='pointer'``, point at them.
"""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from recs4r_mm.registry import MODELS
from recs4r_mm.structures import (NUM_GENERALIZED_TOKEN_CLASSES, NUM_TOKEN_CLASSES, TOKEN_COORD,
                                  TOKEN_END, TOKEN_HOLE, TOKEN_OBJ, TOKEN_SEP, TOKEN_START)
from recs4r_mm.utils import reject_moved_options
from ..layers.attention import KVCache
from ..layers.coord_embedding import CoordGridEmbedding
from ..layers.pointer_regression import PointerRegression
from ..layers.positional_encoding import sine_positional_encoding_2d
from ..layers.soft_raster import soft_rasterize
from ..layers.transformer_layers import TransformerDecoderLayer
from .sequence_format import FORCED_PREFIX, SEQ_FORMATS, ring_ids_from_tokens


@MODELS.register_module()
class LUCDPHead(BaseModule):
    """Autoregressive contour decoder with teacher forcing and KV-cached greedy decoding.

    Args:
        embed_dims (int): Width C (must match the memory).
        num_layers (int): Decoder layers.
        num_heads (int): Attention heads.
        ffn_dims (int): FFN width.
        dropout (float): Dropout.
        grid_size (int): G of the G x G coordinate embedding grid.
        max_len (int): Maximum number of generated tokens after START (END included): the
            size of the position table; training targets are fitted to it by the contour
            budget rule (``ContourSequenceCoder``).
        seq_format (str): 'contour' (LUCDP) or 'box_polygon' (LUCDP off: PolyFormer-style
            box corners, SEP, polygon). Inside ``RECS4R`` it is set from the model's
            ``sequence_coder``.
        reg_mode (str): How a step's (x, y) is read out: 'direct' (an MLP on the decoder
            state, PolyFormer's regression) or 'pointer' (soft-argmax over the visual tokens
            plus an offset of at most one cell, :class:`PointerRegression`; needs
            ``memory_hw``). The pointer learns localisation far faster on small budgets.
        memory_pos (bool): Add the visual tokens' 2-D sine position code to the
            cross-attention keys (DETR style) when ``memory_hw`` is given.
        generalized (bool): Generalized referring (not in the paper): a sixth token class,
            OBJ, starts the next target object, and END may follow START ("no target").
            Inside ``RECS4R`` it is set from the model's ``sequence_coder``.
        loss_cls (dict): Token classification loss (L_cls).
        loss_l1 (dict): L1 vertex regression (lambda_1).
        loss_smooth_l2 (dict): Smooth-L2 vertex regression (lambda_2).
        loss_coarse_l1 (dict): L1 part of L_coarse on the coarse box (lambda_3).
        loss_coarse_giou (dict): GIoU part of L_coarse (lambda_3).
        loss_gcl (dict): Gradient consistency loss (lambda_4); loss_weight=0 switches it off.
        gcl_raster_size (int): Side of the soft rasterisation used by GCL.
        gcl_tau (float): Temperature (pixels of the raster) of the soft rasteriser.
        train_cfg (dict, optional): Training-only tricks (not in the paper; 0 = plain teacher
            forcing): ``input_coord_noise``, the std of Gaussian noise on the teacher-forced
            input coordinates (the decoder then relies on the image/text memory more than on
            the exact previous vertex, less drift when decoding free-running), and
            ``self_feed_prob``, the probability that a teacher-forced coordinate input is
            replaced by the model's own (no-grad) prediction (:meth:`self_feed`), and
            ``first_token_weight``, the weight of L_cls on the first generated token: in a
            generalized sequence it is the "is there a target?" decision (END or a vertex),
            one token among dozens otherwise.
        test_cfg (dict, optional): Decoding limits: ``use_cache`` (True: key/value cache;
            False recomputes the whole prefix each step, PolyFormer's public decoder, kept
            for benchmarks), ``max_len`` (None: the ``max_len`` above; a lower limit of
            generated tokens), ``min_vertices`` (3: vertices before END may be emitted; never
            below 3 per ring), ``allow_parts`` / ``allow_holes`` (True: SEP / HOLE allowed),
            ``no_target_thr`` (generalized only; None: the most probable token): the first
            generated token is END ("no target") iff its probability is >= this.
    """
    DEFAULT_TRAIN_CFG = dict(input_coord_noise=0.0, self_feed_prob=0.0, first_token_weight=1.0)
    DEFAULT_TEST_CFG = dict(use_cache=True, max_len=None, min_vertices=3, allow_parts=True,
                            allow_holes=True, no_target_thr=None)

    def __init__(self,
                 embed_dims: int = 256,
                 num_layers: int = 3,
                 num_heads: int = 8,
                 ffn_dims: int = 1024,
                 dropout: float = 0.1,
                 grid_size: int = 64,
                 max_len: int = 80,
                 seq_format: str = 'contour',
                 reg_mode: str = 'direct',
                 memory_pos: bool = True,
                 generalized: bool = False,
                 loss_cls: dict = dict(type='CrossEntropyLoss', loss_weight=1.0),
                 loss_l1: dict = dict(type='L1Loss', loss_weight=1.0),
                 loss_smooth_l2: dict = dict(type='SmoothL2Loss', loss_weight=1.0),
                 loss_coarse_l1: dict = dict(type='L1Loss', loss_weight=0.1),
                 loss_coarse_giou: dict = dict(type='GIoULoss', loss_weight=0.1),
                 loss_gcl: dict = dict(type='GradientConsistencyLoss', loss_weight=0.1),
                 gcl_raster_size: int = 64,
                 gcl_tau: float = 1.0,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg=None,
                 **moved) -> None:
        super().__init__(init_cfg=init_cfg)
        old = {k: f'head.train_cfg.{k}' for k in self.DEFAULT_TRAIN_CFG}
        old.update({k: f'head.test_cfg.{k}' for k in self.DEFAULT_TEST_CFG if k != 'max_len'})
        reject_moved_options('LUCDPHead', moved, old, unknown_is_error=True)
        for name, cfg, default in (('train_cfg', train_cfg, self.DEFAULT_TRAIN_CFG),
                                   ('test_cfg', test_cfg, self.DEFAULT_TEST_CFG)):
            unknown = set(cfg or {}) - set(default)
            if unknown:
                raise ValueError(f'LUCDPHead.{name}: unknown keys {sorted(unknown)} '
                                 f'(known: {sorted(default)})')
        self.train_cfg = dict(self.DEFAULT_TRAIN_CFG, **(train_cfg or {}))
        self.test_cfg = dict(self.DEFAULT_TEST_CFG, **(test_cfg or {}))
        min_vertices = self.test_cfg['min_vertices']
        self_feed_prob = self.train_cfg['self_feed_prob']
        if seq_format not in SEQ_FORMATS:
            raise ValueError(f'LUCDPHead.seq_format must be one of {SEQ_FORMATS}, '
                             f'got {seq_format!r}')
        if reg_mode not in ('direct', 'pointer'):
            raise ValueError(f"LUCDPHead.reg_mode must be 'direct' or 'pointer', "
                             f'got {reg_mode!r}')
        self.reg_mode = reg_mode
        self.memory_pos = bool(memory_pos)
        self.forced_prefix = FORCED_PREFIX[seq_format]
        self.num_prefix_coords = sum(1 for t in self.forced_prefix if t == TOKEN_COORD)
        need = len(self.forced_prefix) + max(min_vertices, 3) + 1
        if max_len < need:
            raise ValueError(f'LUCDPHead.max_len={max_len} < {need} (prefix + '
                             f'min_vertices + END)')
        self.embed_dims = embed_dims
        self.max_len = max_len
        self.seq_format = seq_format
        self.generalized = bool(generalized)
        if self.generalized and seq_format != 'contour':
            raise ValueError("LUCDPHead(generalized=True) needs seq_format='contour'")
        thr = self.test_cfg['no_target_thr']
        if thr is not None and (not self.generalized or not 0.0 <= float(thr) <= 1.0):
            raise ValueError(f'LUCDPHead.test_cfg.no_target_thr={thr!r}: a probability in '
                             f'[0, 1], for a generalized head only (sequence_coder.generalized'
                             f'=True); None keeps the more probable token')
        self.num_classes = NUM_GENERALIZED_TOKEN_CLASSES if generalized else NUM_TOKEN_CLASSES
        self.gcl_raster_size = gcl_raster_size
        self.gcl_tau = gcl_tau
        if not 0.0 <= self_feed_prob <= 1.0:
            raise ValueError(f'LUCDPHead.train_cfg.self_feed_prob must be in [0, 1], got '
                             f'{self_feed_prob}')

        self.token_embed = nn.Embedding(self.num_classes, embed_dims)
        self.coord_embed = CoordGridEmbedding(grid_size, embed_dims)
        self.pos_embed = nn.Embedding(max_len + 1, embed_dims)
        self.layers = nn.ModuleList([
            TransformerDecoderLayer(embed_dims, num_heads, ffn_dims, dropout)
            for _ in range(num_layers)
        ])
        self.norm = nn.LayerNorm(embed_dims)
        self.cls_branch = nn.Linear(embed_dims, self.num_classes)
        if reg_mode == 'pointer':
            self.pointer = PointerRegression(embed_dims)
        else:
            self.reg_branch = nn.Sequential(
                nn.Linear(embed_dims, embed_dims), nn.ReLU(inplace=True),
                nn.Linear(embed_dims, 2))
        nn.init.normal_(self.token_embed.weight, std=0.02)
        nn.init.normal_(self.pos_embed.weight, std=0.02)

        self.loss_cls = MODELS.build(loss_cls)
        self.loss_l1 = MODELS.build(loss_l1)
        self.loss_smooth_l2 = MODELS.build(loss_smooth_l2)
        self.loss_coarse_l1 = MODELS.build(loss_coarse_l1)
        self.loss_coarse_giou = MODELS.build(loss_coarse_giou)
        self.loss_gcl = MODELS.build(loss_gcl)

    # ------------------------------------------------------------------ embedding / forward
    def embed(self, tokens: Tensor, coords: Tensor, start_pos: int = 0) -> Tensor:
        """Step inputs (B, T) tokens + (B, T, 2) coords -> (B, T, C).

        Padding (< 0) is embedded as END (it only ever follows END, so causal attention keeps
        it from influencing real positions).
        """
        t = tokens.shape[1]
        if start_pos + t > self.pos_embed.num_embeddings:
            # internal: training targets are fitted to max_len by the contour budget rule
            raise ValueError(f'sequence of {start_pos + t} inputs exceeds LUCDPHead.max_len + 1 '
                             f'= {self.pos_embed.num_embeddings}; targets must be encoded with '
                             'recs4r_mm.structures.ContourBudget(max_len=head.max_len)')
        tok = torch.where(tokens < 0, torch.full_like(tokens, TOKEN_END), tokens)
        x = self.token_embed(tok)
        is_coord = (tok == TOKEN_COORD).to(x.dtype)[..., None]
        x = x + is_coord * self.coord_embed(coords)  # Eq. (LUCDP): bilinear grid embedding
        pos = torch.arange(start_pos, start_pos + t, device=tokens.device)
        return x + self.pos_embed(pos)[None]

    def memory_context(self, memory: Tensor, memory_hw: Optional[Tuple[int, int]] = None,
                       pointer_prior: Optional[Tensor] = None) -> dict:
        """What every decoding step reuses: the cross-attention key position code (1, S, C)
        (or None) and, for the pointer, its keys (B, h*w, C), the grid ``hw`` and an optional
        prior (B, h*w) added to its attention logits."""
        ctx = dict(pos=None, pointer_keys=None, hw=None, prior=pointer_prior)
        if memory_hw is None:
            if self.reg_mode == 'pointer':
                raise ValueError("LUCDPHead(reg_mode='pointer') needs memory_hw=(h, w), the "
                                 'grid of the visual tokens at the start of the memory')
            return ctx
        h, w = int(memory_hw[0]), int(memory_hw[1])
        b, s, c = memory.shape
        if h * w > s:
            raise ValueError(f'memory_hw={memory_hw} gives {h * w} visual tokens but the '
                             f'memory has only {s}')
        vis_pos = sine_positional_encoding_2d(h, w, c, device=memory.device, dtype=memory.dtype)
        if self.memory_pos:
            ctx['pos'] = torch.cat([vis_pos, vis_pos.new_zeros(s - h * w, c)])[None]
        if self.reg_mode == 'pointer':
            ctx['pointer_keys'] = self.pointer.keys(memory[:, :h * w], vis_pos)
            ctx['hw'] = (h, w)
        return ctx

    def regress(self, x: Tensor, ctx: dict) -> Tensor:
        """Decoder states (B, T, C) -> vertices (B, T, 2) in [0, 1]."""
        if self.reg_mode == 'pointer':
            return self.pointer(x, ctx['pointer_keys'], ctx['hw'], ctx['prior'])
        return self.reg_branch(x).sigmoid()

    def forward(self, memory: Tensor, memory_padding_mask: Optional[Tensor],
                in_tokens: Tensor, in_coords: Tensor,
                memory_hw: Optional[Tuple[int, int]] = None,
                pointer_prior: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Teacher-forced pass.

        Args:
            memory (Tensor): (B, S, C) fused multimodal tokens (visual tokens first).
            memory_padding_mask (Tensor, optional): (B, S) True = padding.
            in_tokens (Tensor): (B, T) input tokens (target shifted right, START first).
            in_coords (Tensor): (B, T, 2).
            memory_hw (tuple, optional): (h, w) grid of the visual tokens.
            pointer_prior (Tensor, optional): (B, h*w) logits added to the pointer's attention.

        Returns:
            tuple: class logits (B, T, K) and coordinates (B, T, 2) in [0, 1].
        """
        ctx = self.memory_context(memory, memory_hw, pointer_prior)
        x = self._decode_causal(in_tokens, in_coords, memory, memory_padding_mask, ctx)
        return self.cls_branch(x), self.regress(x, ctx)

    def _decode_causal(self, tokens: Tensor, coords: Tensor, memory: Tensor,
                       mask: Optional[Tensor], ctx: dict) -> Tensor:
        """Decoder states (B, T, C) of a whole input sequence under the causal mask."""
        x = self.embed(tokens, coords)
        t = x.shape[1]
        causal = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        for layer in self.layers:
            x = layer(x, memory, causal_mask=causal, memory_padding_mask=mask,
                      memory_pos=ctx['pos'])
        return self.norm(x)

    def forward_train(self, memory: Tensor, memory_padding_mask: Optional[Tensor],
                      tokens: Tensor, coords: Tensor,
                      memory_hw: Optional[Tuple[int, int]] = None,
                      pointer_prior: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Teacher forcing on full target sequences (B, T) -> predictions for positions 1..T-1."""
        in_tokens, in_coords = tokens[:, :-1], coords[:, :-1]
        noise_std = self.train_cfg['input_coord_noise']
        if self.training and noise_std > 0:
            noise = torch.randn_like(in_coords) * noise_std
            in_coords = (in_coords + noise).clamp(0, 1)
        if self.training and self.train_cfg['self_feed_prob'] > 0:
            in_coords = self.self_feed(memory, memory_padding_mask, in_tokens, in_coords,
                                       memory_hw, pointer_prior)
        return self(memory, memory_padding_mask, in_tokens, in_coords, memory_hw, pointer_prior)

    def self_feed(self, memory: Tensor, memory_padding_mask: Optional[Tensor],
                  in_tokens: Tensor, in_coords: Tensor,
                  memory_hw: Optional[Tuple[int, int]] = None,
                  pointer_prior: Optional[Tensor] = None) -> Tensor:
        """Parallel scheduled sampling against exposure bias (not in the paper; off by default).

        Teacher forcing lets every vertex be placed next to its ground-truth predecessor, so
        only the first vertex has to be localised from the image. Here a no-grad teacher-forced
        pass predicts every position, and each coordinate input is replaced, with probability
        ``train_cfg.self_feed_prob``, by the model's own prediction of it: (B, T, 2) ->
        (B, T, 2).
        """
        with torch.no_grad():
            _, own = self(memory, memory_padding_mask, in_tokens, in_coords, memory_hw,
                          pointer_prior)
        # own[:, j] predicts the target at j + 1, which is the input at position j + 1
        swap = torch.rand(in_coords.shape[:2],
                          device=in_coords.device) < self.train_cfg['self_feed_prob']
        swap[:, 0] = False  # START
        fed = in_coords.clone()
        fed[:, 1:] = torch.where(swap[:, 1:, None], own[:, :-1].to(in_coords), in_coords[:, 1:])
        return fed

    # ------------------------------------------------------------------ losses
    def loss_sequence(self, logits: Tensor, pred_coords: Tensor, tokens: Tensor,
                      coords: Tensor, weights: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """L_cls + lambda_1 L1 + lambda_2 smooth-L2 on teacher-forced outputs.

        Args:
            logits (Tensor): (B, T-1, K).
            pred_coords (Tensor): (B, T-1, 2).
            tokens (Tensor): (B, T) full target sequences (padding < 0).
            coords (Tensor): (B, T, 2).
            weights (Tensor, optional): (B,) per-sample weights.
        """
        tgt_tok, tgt_xy = tokens[:, 1:], coords[:, 1:]
        b = tgt_tok.shape[0]
        w = logits.new_ones(b) if weights is None else weights.to(logits)
        valid = tgt_tok >= 0
        w_pos = w[:, None].expand_as(tgt_tok)
        first = float(self.train_cfg['first_token_weight'])
        if first != 1.0:  # the first generated token: a target or not (generalized)
            w_pos = torch.cat([w_pos[:, :1] * first, w_pos[:, 1:]], 1)
        w_tok = w_pos[valid]
        # Eq. (L): L_cls over the token classes, λ1 L1 and λ2 smooth-L2 over the vertices
        loss_cls = self.loss_cls(logits[valid], tgt_tok[valid], weight=w_tok,
                                 avg_factor=w_tok.sum().clamp(min=1.0))
        is_coord = tgt_tok == TOKEN_COORD
        w_xy = w[:, None].expand_as(tgt_tok)[is_coord]
        n_xy = w_xy.sum().clamp(min=1.0)
        p, g = pred_coords[is_coord], tgt_xy[is_coord]
        loss_l1 = self.loss_l1(p, g, weight=w_xy[:, None].expand_as(p), avg_factor=n_xy)
        loss_sl2 = self.loss_smooth_l2(p, g, weight=w_xy, avg_factor=n_xy)
        with torch.no_grad():
            acc = (logits[valid].argmax(-1) == tgt_tok[valid]).float().mean() * 100
        return dict(loss_cls=loss_cls, loss_l1=loss_l1, loss_smooth_l2=loss_sl2, acc_token=acc)

    def loss_coarse(self, pred_boxes: Tensor, gt_boxes: Tensor,
                    weights: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """L_coarse = lambda_3 (L1 + GIoU) between the coarse contour's box and the GT box.

        Args:
            pred_boxes, gt_boxes (Tensor): (B, 4) normalised xyxy.
            weights (Tensor, optional): (B,).
        """
        b = pred_boxes.shape[0]
        w = pred_boxes.new_ones(b) if weights is None else weights.to(pred_boxes)
        n = w.sum().clamp(min=1.0)
        gt_boxes = gt_boxes.to(pred_boxes)
        # Eq. (L): λ3 L_coarse, L1 + GIoU between Rect(P_c) and the GT box
        return dict(
            loss_coarse_l1=self.loss_coarse_l1(
                pred_boxes, gt_boxes, weight=w[:, None].expand_as(pred_boxes), avg_factor=n),
            loss_coarse_giou=self.loss_coarse_giou(pred_boxes, gt_boxes, weight=w,
                                                   avg_factor=n))

    def soft_masks(self, pred_coords: Tensor, tokens: Tensor, size: int) -> Tensor:
        """Soft rasterisation (B, size, size) of teacher-forced contours (ring layout of the
        target tokens, predicted vertex positions)."""
        ring, _ = ring_ids_from_tokens(tokens[:, 1:], num_prefix=self.num_prefix_coords)
        return soft_rasterize(pred_coords * size, ring, (size, size), tau=self.gcl_tau)

    def loss_gcl_by_outputs(self, pred_coords: Tensor, tokens: Tensor, gt_masks: Tensor,
                            weights: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """lambda_4 L_gcl between the soft-rasterised predicted contour and the GT mask.

        Args:
            pred_coords (Tensor): (B, T-1, 2) teacher-forced vertices.
            tokens (Tensor): (B, T) targets.
            gt_masks (Tensor): (B, R, R) GT masks at ``gcl_raster_size``.
            weights (Tensor, optional): (B,).
        """
        if self.loss_gcl.loss_weight == 0:  # GCL switched off: skip the rasterisation
            return dict(loss_gcl=pred_coords.sum() * 0.0)
        soft = self.soft_masks(pred_coords, tokens, gt_masks.shape[-1])  # M_p via SoftRas (GCL)
        w = pred_coords.new_ones(soft.shape[0]) if weights is None else weights.to(soft)
        # Eq. (L): λ4 L_gcl = λ4 ||∇M_p − ∇M_g||_1 (Key Design 4)
        return dict(loss_gcl=self.loss_gcl(soft, gt_masks.to(soft), weight=w,
                                           avg_factor=w.sum().clamp(min=1.0)))

    # ------------------------------------------------------------------ decoding
    def _allowed(self, t: int, max_len: int, ring: Tensor, total: Tensor,
                 min_vertices: int) -> Tensor:
        """(B, K) bool mask of token classes allowed at generation step ``t``."""
        b = ring.shape[0]
        allowed = torch.zeros(b, self.num_classes, dtype=torch.bool, device=ring.device)
        if t < len(self.forced_prefix):
            allowed[:, self.forced_prefix[t]] = True
            return allowed
        rem_after = max_len - 1 - t  # slots left after this step
        if rem_after == 0:
            allowed[:, TOKEN_END] = True
            return allowed
        if self.generalized and t == len(self.forced_prefix):
            allowed[:, TOKEN_COORD] = True
            allowed[:, TOKEN_END] = True  # START, END: no target
            return allowed
        allowed[:, TOKEN_COORD] = True
        ring_ok = ring >= 3
        # a separator must leave room for a new ring of >= 3 vertices, for min_vertices in
        # total, and for END
        need_after = (min_vertices - total).clamp(min=3) + 1
        sep_ok = ring_ok & (rem_after >= need_after)
        if self.test_cfg['allow_parts']:
            allowed[:, TOKEN_SEP] = sep_ok
        if self.test_cfg['allow_holes']:
            allowed[:, TOKEN_HOLE] = sep_ok
        if self.generalized:
            allowed[:, TOKEN_OBJ] = sep_ok
        allowed[:, TOKEN_END] = ring_ok & (total >= min_vertices)
        return allowed

    def _step_cached(self, tok: Tensor, xy: Tensor, t: int, memory: Tensor,
                     mask: Optional[Tensor], caches: List[KVCache], ctx: dict) -> Tensor:
        x = self.embed(tok[:, None], xy[:, None], start_pos=t)
        for layer, cache in zip(self.layers, caches):
            x = layer(x, memory, memory_padding_mask=mask, cache=cache, memory_pos=ctx['pos'])
        return self.norm(x)[:, :1]

    def _step_full(self, tokens: Tensor, coords: Tensor, memory: Tensor,
                   mask: Optional[Tensor], ctx: dict) -> Tensor:
        return self._decode_causal(tokens, coords, memory, mask, ctx)[:, -1:]

    @torch.no_grad()
    def predict(self,
                memory: Tensor,
                memory_padding_mask: Optional[Tensor] = None,
                use_cache: Optional[bool] = None,
                max_len: Optional[int] = None,
                min_vertices: Optional[int] = None,
                memory_hw: Optional[Tuple[int, int]] = None,
                pointer_prior: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Batched greedy decoding.

        Args:
            memory (Tensor): (B, S, C) (visual tokens first).
            memory_padding_mask (Tensor, optional): (B, S) True = padding.
            use_cache (bool, optional): Override ``test_cfg.use_cache``.
            max_len (int, optional): Override ``test_cfg.max_len`` (generated tokens, END
                incl.; never above ``self.max_len``).
            min_vertices (int, optional): Override ``test_cfg.min_vertices``.
            memory_hw (tuple, optional): (h, w) grid of the visual tokens.
            pointer_prior (Tensor, optional): (B, h*w) logits added to the pointer's attention.

        Returns:
            dict: ``tokens`` (B, T) long (START first, END last, -1 padding), ``coords``
            (B, T, 2) in [0, 1], ``scores`` (B,) geometric mean of the chosen tokens'
            probabilities, ``no_target_prob`` (B,) the probability of END as the first
            generated token (generalized heads; 0 otherwise).
        """
        cfg = self.test_cfg
        use_cache = cfg['use_cache'] if use_cache is None else use_cache
        max_len = max_len if max_len is not None else cfg['max_len']
        max_len = self.max_len if max_len is None else int(max_len)
        max_len = min(max_len, self.pos_embed.num_embeddings - 1)
        min_vertices = max(int(cfg['min_vertices'] if min_vertices is None else min_vertices),
                           3)
        need = len(self.forced_prefix) + min_vertices + 1
        if max_len < need:
            raise ValueError(f'max_len={max_len} < {need} (prefix + min_vertices + END)')
        b, device = memory.shape[0], memory.device
        ctx = self.memory_context(memory, memory_hw, pointer_prior)
        tokens = torch.full((b, max_len + 1), -1, dtype=torch.long, device=device)
        tokens[:, 0] = TOKEN_START
        coords = memory.new_zeros(b, max_len + 1, 2)
        caches = None
        if use_cache:
            head = self.layers[0].self_attn
            caches = [
                KVCache(b, head.num_heads, max_len, head.head_dims, device, memory.dtype)
                for _ in self.layers
            ]
        ring = torch.zeros(b, dtype=torch.long, device=device)
        total = torch.zeros(b, dtype=torch.long, device=device)
        finished = torch.zeros(b, dtype=torch.bool, device=device)
        logp_sum = memory.new_zeros(b)
        n_tok = memory.new_zeros(b)
        n_prefix = len(self.forced_prefix)
        no_target_prob = memory.new_zeros(b)
        no_target_thr = cfg['no_target_thr']
        last = 0
        for t in range(max_len):
            if use_cache:
                h = self._step_cached(tokens[:, t], coords[:, t], t, memory,
                                      memory_padding_mask, caches, ctx)
            else:
                h = self._step_full(tokens[:, :t + 1], coords[:, :t + 1], memory,
                                    memory_padding_mask, ctx)
            logits = self.cls_branch(h)[:, 0]
            xy = self.regress(h, ctx)[:, 0]
            allowed = self._allowed(t, max_len, ring, total, min_vertices)
            cls = logits.masked_fill(~allowed, float('-inf')).argmax(-1)
            if self.generalized and t == n_prefix:  # target or not: END vs the first vertex
                no_target_prob = F.softmax(logits.masked_fill(~allowed, float('-inf')),
                                           -1)[:, TOKEN_END]
                if no_target_thr is not None:
                    cls = torch.where(no_target_prob >= float(no_target_thr),
                                      torch.full_like(cls, TOKEN_END),
                                      torch.full_like(cls, TOKEN_COORD))
            logp = F.log_softmax(logits, -1).gather(1, cls[:, None])[:, 0]
            active = ~finished
            logp_sum = logp_sum + torch.where(active, logp, torch.zeros_like(logp))
            n_tok = n_tok + active.to(n_tok.dtype)
            cls = torch.where(active, cls, torch.full_like(cls, -1))
            is_coord = cls == TOKEN_COORD
            tokens[:, t + 1] = cls
            coords[:, t + 1] = torch.where(is_coord[:, None], xy, torch.zeros_like(xy))
            if t >= n_prefix:
                ring = torch.where(is_coord, ring + 1, ring)
                ring = torch.where((cls == TOKEN_SEP) | (cls == TOKEN_HOLE) | (cls == TOKEN_OBJ),
                                   torch.zeros_like(ring), ring)
                total = total + is_coord.long()
            finished = finished | (cls == TOKEN_END)
            last = t + 1
            if bool(finished.all()):
                break
        scores = torch.exp(logp_sum / n_tok.clamp(min=1))
        return dict(tokens=tokens[:, :last + 1], coords=coords[:, :last + 1], scores=scores,
                    no_target_prob=no_target_prob)
