"""RCE: Residual Coarse-to-fine Encoding.

The fine stage does "correction + refinement" instead of re-learning: the coarse stage's global
visual-language map F_global and coarse box B_c enter the fine (local) features as residuals.

RECS4R (CVPR 2026), Key Design 2; Eq. (RCE-ch) below is its f = (1+γ)·F_global + β, with
F_global resampled into the crop (``channel_source='global'``, the paper) or applied to F_local
(``'local'``, the earlier variant) (docs/design.md §3, §8 "RCE channel modulation").
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from recs4r_mm.registry import MODELS
from .attention import MultiheadAttention
from .positional_encoding import sine_positional_encoding_2d
from .roi_crop import crop_and_resize


def soft_box_map(boxes: Tensor, hw, sharpness: float = 1.0) -> Tensor:
    """Soft indicator of normalised boxes on an ``h x w`` grid of cell centres.

    Args:
        boxes (Tensor): (B, 4) xyxy normalised to [0, 1] (may exceed it).
        hw (tuple[int, int]): Grid size.
        sharpness (float): Edge width in cells (smaller = harder).

    Returns:
        Tensor: (B, 1, h, w) in (0, 1).
    """
    h, w = hw
    xs = (torch.arange(w, device=boxes.device, dtype=boxes.dtype) + 0.5) / w
    ys = (torch.arange(h, device=boxes.device, dtype=boxes.dtype) + 0.5) / h
    sx, sy = sharpness / w, sharpness / h
    mx = torch.sigmoid((xs[None] - boxes[:, 0:1]) / sx) * torch.sigmoid(
        (boxes[:, 2:3] - xs[None]) / sx)  # (B, w)
    my = torch.sigmoid((ys[None] - boxes[:, 1:2]) / sy) * torch.sigmoid(
        (boxes[:, 3:4] - ys[None]) / sy)  # (B, h)
    return (my[:, :, None] * mx[:, None, :])[:, None]


@MODELS.register_module()
class RCE(BaseModule):
    """Residual coarse-to-fine encoding of the fine-stage features.

    Steps (each switchable):
      1. box-weighted global semantics g = pool(F_global * M(B_c)) (+ global mean);
      2. channel modulation  f = (1 + gamma) * F + beta,  (gamma, beta) = MLP(g), where F is
                              F_global resampled into the crop (the paper) or F_local;
      3. spatial gate        F_spatial = f * sigmoid(conv([mean_c f, max_c f, M_crop(B_c),
                              F_global resampled into the crop])) (attention gate from B_c;
                              F_spatial = f when the gate is off);
      4. cross-attention     F_CA = Attn(q = f, kv = pooled F_global * M(B_c));
      5. residual fusion     out = F_local + W [F_spatial ; F_CA].

    Args:
        embed_dims (int): Channels C of F_local and F_global.
        num_heads (int): Heads of the light cross-attention.
        pool_size (int): F_global is pooled to ``pool_size^2`` keys for the cross-attention.
        use_channel (bool): Enable step 2.
        channel_source (str): What step 2 modulates: ``'global'`` (F_global inside the crop,
            the paper's f = (1+γ)·F_global + β) or ``'local'`` (F_local).
        use_spatial (bool): Enable step 3.
        use_cross_attn (bool): Enable step 4.
        init_std (float): Std of the (small) init of the modulation and fusion outputs, so
            the module starts close to the identity while every part receives gradients.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 num_heads: int = 4,
                 pool_size: int = 8,
                 use_channel: bool = True,
                 channel_source: str = 'global',
                 use_spatial: bool = True,
                 use_cross_attn: bool = True,
                 init_std: float = 0.01,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not (use_channel or use_spatial or use_cross_attn):
            raise ValueError('RCE needs at least one of use_channel / use_spatial / '
                             'use_cross_attn; set model.rce=None to switch RCE off')
        if channel_source not in ('global', 'local'):
            raise ValueError(f"RCE.channel_source must be 'global' or 'local', "
                             f'got {channel_source!r}')
        c = embed_dims
        self.embed_dims = c
        self.channel_source = channel_source
        self.pool_size = pool_size
        self.use_channel = use_channel
        self.use_spatial = use_spatial
        self.use_cross_attn = use_cross_attn
        self.init_std = init_std
        if use_channel:
            self.film = nn.Sequential(nn.Linear(2 * c, c), nn.ReLU(inplace=True),
                                      nn.Linear(c, 2 * c))
        if use_spatial:
            self.global_reduce = nn.Conv2d(c, 8, 1)
            self.gate = nn.Sequential(nn.Conv2d(3 + 8, 16, 7, padding=3),
                                      nn.ReLU(inplace=True), nn.Conv2d(16, 1, 3, padding=1))
        if use_cross_attn:
            self.ca_norm_q = nn.LayerNorm(c)
            self.ca_norm_kv = nn.LayerNorm(c)
            self.cross_attn = MultiheadAttention(c, num_heads)
        n_branch = int(use_spatial or use_channel) + int(use_cross_attn)
        self.fuse = nn.Conv2d(c * n_branch, c, 1)

    def init_weights(self) -> None:
        super().init_weights()
        if self.use_channel:
            nn.init.normal_(self.film[-1].weight, std=self.init_std)
            nn.init.zeros_(self.film[-1].bias)
        nn.init.normal_(self.fuse.weight, std=self.init_std)
        nn.init.zeros_(self.fuse.bias)

    def forward(self, local_feat: Tensor, global_feat: Tensor, coarse_boxes: Tensor,
                crop_boxes: Tensor) -> Tensor:
        """Inject the coarse stage into the fine features.

        Args:
            local_feat (Tensor): (B, C, h_f, w_f) fine-stage visual features F_local.
            global_feat (Tensor): (B, C, h_c, w_c) coarse-stage visual-language map F_global.
            coarse_boxes (Tensor): (B, 4) coarse box B_c, xyxy normalised by the image size.
            crop_boxes (Tensor): (B, 4) crop box of the fine stage, xyxy normalised likewise.

        Returns:
            Tensor: (B, C, h_f, w_f).
        """
        b, c, hf, wf = local_feat.shape
        hc, wc = global_feat.shape[-2:]
        coarse_boxes = coarse_boxes.detach().to(local_feat)
        crop_boxes = crop_boxes.detach().to(local_feat)
        box_map = soft_box_map(coarse_boxes, (hc, wc))  # (B, 1, hc, wc)
        weighted = global_feat * box_map  # F_global weighted by B_c
        crop_px = crop_boxes * torch.tensor([wc, hc, wc, hc], device=crop_boxes.device,
                                            dtype=crop_boxes.dtype)  # the crop on F_global
        f = local_feat
        if self.use_channel:
            # RCE step 1: g = pool(F_global * M(B_c)), plus the global mean
            g_box = weighted.flatten(2).sum(-1) / box_map.flatten(2).sum(-1).clamp(min=1e-6)
            g_all = global_feat.flatten(2).mean(-1)
            gamma, beta = self.film(torch.cat([g_box, g_all], dim=1)).chunk(2, dim=1)
            src = local_feat
            if self.channel_source == 'global':  # F_global over the crop, on the local grid
                src = crop_and_resize(global_feat, crop_px, (hf, wf))
            f = (1 + gamma[..., None, None]) * src + beta[..., None, None]  # Eq. (RCE-ch)
        branches = []
        if self.use_spatial:
            # coarse box in crop coordinates
            lo, size = crop_boxes[:, :2], (crop_boxes[:, 2:] - crop_boxes[:, :2]).clamp(min=1e-6)
            box_in_crop = torch.cat([(coarse_boxes[:, :2] - lo) / size,
                                     (coarse_boxes[:, 2:] - lo) / size], dim=1)
            crop_map = soft_box_map(box_in_crop, (hf, wf))
            g_red = self.global_reduce(global_feat)
            g_crop = crop_and_resize(g_red, crop_px, (hf, wf))  # F_global inside the crop
            gate_in = torch.cat([f.mean(1, keepdim=True), f.amax(1, keepdim=True), crop_map,
                                 g_crop], dim=1)
            branches.append(f * torch.sigmoid(self.gate(gate_in)))  # Eq. (RCE-sp) F_spatial
        elif self.use_channel:
            branches.append(f)
        if self.use_cross_attn:
            p = min(self.pool_size, hc, wc)
            kv = F.adaptive_avg_pool2d(weighted, p).flatten(2).transpose(1, 2)  # (B, p*p, C)
            kv = kv + sine_positional_encoding_2d(p, p, c, device=kv.device, dtype=kv.dtype)
            q = f.flatten(2).transpose(1, 2)
            q = q + sine_positional_encoding_2d(hf, wf, c, device=q.device, dtype=q.dtype)
            kv = self.ca_norm_kv(kv)
            ca = self.cross_attn(self.ca_norm_q(q), kv, kv)  # Eq. (RCE-ca) F_CA
            branches.append(ca.transpose(1, 2).reshape(b, c, hf, wf))
        # Eq. (RCE-fuse): residual fusion of F_spatial, F_CA and F_local
        return local_feat + self.fuse(torch.cat(branches, dim=1))
