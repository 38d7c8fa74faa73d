"""CIMF: Channel-Isolated Multi-scale Fusion neck.

RECS4R (CVPR 2026), Key Design 3; ``text_fusion='mul'`` is LAVT's PWAM gating (Yang et al.,
CVPR 2022). docs/design.md §2 step 3, §7, §8; docs/plugins.md "CIMF neck (in place of FPN)".
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from recs4r_mm.registry import MODELS
from recs4r_mm.utils import reject_moved_options
from ..layers.attention import MultiheadAttention


def resample(x: Tensor, size: Tuple[int, int], mode: str = 'bilinear') -> Tensor:
    """Area-average when shrinking, interpolate when growing. (B, C, h, w) -> (B, C, *size)."""
    h, w = x.shape[-2:]
    if (h, w) == tuple(size):
        return x
    if h >= size[0] and w >= size[1]:
        return F.adaptive_avg_pool2d(x, size)
    kwargs = dict(align_corners=False) if mode in ('bilinear', 'bicubic') else {}
    return F.interpolate(x, size=size, mode=mode, **kwargs)


@MODELS.register_module()
class CIMF(BaseModule):
    """Channel-Isolated Multi-scale Fusion.

    Eq. (CIMF): each scale i gets its own 1x1 projection into a private ``C_m``-channel
    subspace, P_i = W_i F_i; all P_i are resampled to one grid and concatenated (no summation,
    scale identity stays in the channel index) into ``4 C_m`` channels, each block scaled by a
    weight w_i = L * softmax(alpha + MLP([t, s]))_i (alpha learnable, t pooled text, s a
    target-size cue), then refined by cross-modal attention to the text tokens (residual).

    With ``variant='fpn_sum'`` (CIMF switched off, the ablation's FPN-style baseline) every
    scale is projected to the full width and the maps are summed, without scale weights,
    text gates or cross-attention.

    Args:
        in_channels (list[int]): Channels of the input levels.
        cm_channels (int): C_m, channels of one scale's private subspace.
        working_level (int): Index of the input level whose grid the fused map uses
            (``out_mode='single'``).
        variant (str): 'cimf' (channel-isolated concatenation, learnable per-scale weights
            modulated by the pooled text and size cue, cross-modal attention to the text
            tokens) or 'fpn_sum' (FPN-style sum of the scales, none of those; CIMF off).
        text_channels (int, optional): Channels of the text tokens; None = no text guidance
            (no text gate, no cross-attention).
        num_heads (int): Heads of the cross-modal attention.
        text_fusion (str): How the attended text ``a`` enters the fused map ``f``: 'add'
            (f + a) or 'mul' (f + a + f * W a, pixel-word gating as in LAVT's PWAM), which
            lets a location compare its own features with the words it attends to.
        out_mode (str): 'single' -> ``(fused,)`` on the working grid; 'multi' -> a tuple of
            ``num_outs`` maps (one per input level, each fused on that level's grid, plus
            max-pooled extra levels), so CIMF can replace FPN in stock mmdet detectors.
        out_channels (int, optional): If set, a 3x3 ConvModule maps the fused ``L*C_m``
            channels to ``out_channels`` (required for 'multi').
        num_outs (int, optional): Number of outputs in 'multi' mode (default: #inputs).
        conv_cfg, norm_cfg, act_cfg: For the projections / output convs (mmcv ConvModule).
        upsample_mode (str): Interpolation used when a level is upsampled.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 cm_channels: int = 64,
                 working_level: int = 2,
                 variant: str = 'cimf',
                 text_channels: Optional[int] = None,
                 num_heads: int = 8,
                 text_fusion: str = 'add',
                 out_mode: str = 'single',
                 out_channels: Optional[int] = None,
                 num_outs: Optional[int] = None,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None,
                 upsample_mode: str = 'bilinear',
                 init_cfg: Union[dict, List[dict], None] = dict(
                     type='Xavier', layer='Conv2d', distribution='uniform'),
                 **moved) -> None:
        super().__init__(init_cfg=init_cfg)
        one_switch = "one switch, variant='cimf' (all on) or variant='fpn_sum' (CIMF off)"
        reject_moved_options('CIMF', moved, dict.fromkeys(
            ('fusion_mode', 'use_scale_weights', 'use_text_gate', 'use_cross_attn'), one_switch),
            unknown_is_error=True)
        if variant not in ('cimf', 'fpn_sum'):
            raise ValueError(f"CIMF.variant must be 'cimf' or 'fpn_sum', got {variant!r}")
        self.variant = variant
        cimf = variant == 'cimf'
        fusion_mode = 'concat' if cimf else 'sum'
        if text_fusion not in ('add', 'mul'):
            raise ValueError(f"CIMF.text_fusion must be 'add' or 'mul', got {text_fusion!r}")
        self.text_fusion = text_fusion
        if out_mode not in ('single', 'multi'):
            raise ValueError(f"CIMF.out_mode must be 'single' or 'multi', got {out_mode!r}")
        self.in_channels = list(in_channels)
        self.num_levels = len(self.in_channels)
        if not -self.num_levels <= working_level < self.num_levels:
            raise ValueError(f'CIMF.working_level={working_level} out of range for '
                             f'{self.num_levels} input levels')
        self.working_level = working_level % self.num_levels
        self.cm_channels = cm_channels
        self.fusion_mode = fusion_mode
        self.fused_channels = cm_channels * self.num_levels
        self.upsample_mode = upsample_mode
        self.out_mode = out_mode
        self.use_scale_weights = cimf
        self.use_text_gate = cimf and text_channels is not None
        self.use_cross_attn = cimf and text_channels is not None

        proj_out = cm_channels if fusion_mode == 'concat' else self.fused_channels
        self.projections = nn.ModuleList([
            ConvModule(c, proj_out, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
            for c in self.in_channels
        ])
        if self.use_scale_weights:
            self.scale_logits = nn.Parameter(torch.zeros(self.num_levels))
        if self.use_text_gate:
            # pooled text + (log relative target area, "area known" flag)
            self.gate_mlp = nn.Sequential(
                nn.Linear(text_channels + 2, text_channels), nn.ReLU(inplace=True),
                nn.Linear(text_channels, self.num_levels))
        if self.use_cross_attn:
            self.ca_norm = nn.LayerNorm(self.fused_channels)
            self.cross_attn = MultiheadAttention(
                self.fused_channels, num_heads, kdim=text_channels, vdim=text_channels)
            if text_fusion == 'mul':
                self.text_mul = nn.Linear(self.fused_channels, self.fused_channels)

        if out_mode == 'multi':
            if out_channels is None:
                raise ValueError("CIMF(out_mode='multi') needs out_channels")
            self.num_outs = num_outs or self.num_levels
            if self.num_outs < self.num_levels:
                raise ValueError(f'num_outs={self.num_outs} < number of inputs '
                                 f'{self.num_levels}')
            n_conv = self.num_levels
        else:
            self.num_outs = 1
            n_conv = 1 if out_channels is not None else 0
        self.out_channels = out_channels if out_channels is not None else self.fused_channels
        self.out_convs = nn.ModuleList([
            ConvModule(self.fused_channels, self.out_channels, 3, padding=1,
                       conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
            for _ in range(n_conv)
        ])

    def scale_weights(self, batch_size: int, text: Optional[Tensor],
                      text_mask: Optional[Tensor], size_prior: Optional[Tensor],
                      ref: Tensor) -> Optional[Tensor]:
        """Per-scale weights (B, L), mean 1 over scales; None when switched off."""
        if not self.use_scale_weights and not (self.use_text_gate and text is not None):
            return None
        logits = ref.new_zeros(batch_size, self.num_levels)
        if self.use_scale_weights:
            logits = logits + self.scale_logits[None]
        if self.use_text_gate and text is not None:
            if text_mask is None:
                pooled = text.mean(1)
            else:
                m = text_mask.to(text.dtype)[..., None]
                pooled = (text * m).sum(1) / m.sum(1).clamp(min=1)
            if size_prior is None:
                size = ref.new_zeros(batch_size, 2)
            else:  # relative area in (0, 1] -> (log area, known flag)
                area = size_prior.reshape(batch_size, -1)[:, :1].to(ref).clamp(1e-4, 1)
                size = torch.cat([area.log(), torch.ones_like(area)], dim=1)
            logits = logits + self.gate_mlp(torch.cat([pooled, size], dim=1))
        return self.num_levels * torch.softmax(logits, dim=1)  # Eq. (CIMF): w_i

    def fuse_at(self, projected: List[Tensor], level: int, weights: Optional[Tensor],
                text: Optional[Tensor], text_mask: Optional[Tensor]) -> Tensor:
        """Fuse all projected scales on the grid of ``level``. -> (B, L*C_m, h, w)."""
        size = projected[level].shape[-2:]
        maps = [resample(p, size, self.upsample_mode) for p in projected]
        if self.fusion_mode == 'sum':
            fused = sum(m if weights is None else m * weights[:, i, None, None, None]
                        for i, m in enumerate(maps))  # FPN-style sum (ablation)
        else:
            if weights is not None:
                maps = [m * weights[:, i, None, None, None] for i, m in enumerate(maps)]
            fused = torch.cat(maps, dim=1)  # Eq. (CIMF): channel-isolated concatenation
        if self.use_cross_attn and text is not None:
            b, c, h, w = fused.shape
            tokens = fused.flatten(2).transpose(1, 2)
            pad = None if text_mask is None else ~text_mask.bool()
            # Eq. (CIMF): cross-modal attention of the fused map to the text tokens (residual)
            attended = self.cross_attn(self.ca_norm(tokens), text, text, key_padding_mask=pad)
            if self.text_fusion == 'mul':  # LAVT PWAM-style gating: f + a + f * W a
                tokens = tokens + attended + tokens * self.text_mul(attended)
            else:
                tokens = tokens + attended
            fused = tokens.transpose(1, 2).reshape(b, c, h, w)
        return fused

    def forward(self,
                inputs: Sequence[Tensor],
                text: Optional[Tensor] = None,
                text_mask: Optional[Tensor] = None,
                size_prior: Optional[Tensor] = None) -> Tuple[Tensor, ...]:
        """Fuse the backbone levels.

        Args:
            inputs (Sequence[Tensor]): L maps (B, C_i, h_i, w_i).
            text (Tensor, optional): (B, T, text_channels) text tokens.
            text_mask (Tensor, optional): (B, T) bool, True = valid token.
            size_prior (Tensor, optional): (B,) relative target area in (0, 1] (e.g. of the
                coarse box in the fine stage).

        Returns:
            tuple[Tensor]: ``(fused,)`` (B, out_channels, h_w, w_w) in 'single' mode, or
            ``num_outs`` maps in 'multi' mode.
        """
        if len(inputs) != self.num_levels:
            raise ValueError(f'CIMF expects {self.num_levels} input levels, '
                             f'got {len(inputs)}')
        projected = [proj(x) for proj, x in zip(self.projections, inputs)]
        weights = self.scale_weights(inputs[0].shape[0], text, text_mask, size_prior,
                                     projected[0])
        if self.out_mode == 'single':
            fused = self.fuse_at(projected, self.working_level, weights, text, text_mask)
            if self.out_convs:
                fused = self.out_convs[0](fused)
            return (fused, )
        outs = [
            conv(self.fuse_at(projected, i, weights, text, text_mask))
            for i, conv in enumerate(self.out_convs)
        ]
        while len(outs) < self.num_outs:  # extra levels as in FPN (max-pool)
            outs.append(F.max_pool2d(outs[-1], 1, stride=2))
        return tuple(outs)
