"""VMamba (VSSM) backbone for OpenMMLab, runnable on CPU.

Paper: Liu et al., "VMamba: Visual State Space Model", arXiv 2401.10166 — the hierarchical
network of its section "Network Architecture" (stem, four stages of VSS blocks, downsampling)
in the accelerated form of its section "Accelerating VMamba" (the released "vssm1_tiny_0230s"
configuration). The blocks (VSS block, SS2D = the 2D-Selective-Scan) are in
``vmamba_blocks.py``; the scan itself (Gu & Dao, arXiv 2312.00752, Algorithm 2 / Eq. 2a-2b, 4)
in ``recs4r_mm/models/layers/selective_scan.py``. Documentation: ``docs/vmamba.md``, sections
"Architecture", "Checkpoint key mapping", "Selective scan" and "References".

Channel-first throughout. Stem: 3x3 s2 conv (C/2) + LN + GELU + 3x3 s2 conv (C) + LN; stage i:
``depths[i]`` VSS blocks, then (except the last stage) 3x3 s2 conv + LN downsampling at the END of
the stage. Output i (stride 4 * 2^i) is the stage output *before* its downsampling, normalised by
``outnorm{i}``. Module names and indices mirror the official release so its checkpoints load
through ``init_cfg=dict(type='Pretrained', checkpoint=...)``. All blocks share one
:class:`~recs4r_mm.models.layers.selective_scan.SelectiveScanDispatcher`
(``VMamba.scan_dispatcher``).
"""
from collections import OrderedDict
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.runner.checkpoint import CheckpointLoader
from torch import Tensor

from recs4r_mm.registry import MODELS
from ..layers.selective_scan import SelectiveScanDispatcher
from .vmamba_blocks import LayerNorm2d, VSSBlock
from .vmamba_checkpoint import convert_vmamba_state_dict

__all__ = ['VMamba']


@MODELS.register_module()
class VMamba(BaseModule):
    """VMamba backbone ("vssm1_tiny_0230s" architecture by default).

    Args:
        arch: 'tiny' (depths [2, 2, 8, 2], dims 96..768, drop path 0.2) or a dict with
            ``depths``/``dims``/``drop_path_rate``. Explicit ``depths``/``dims``/
            ``drop_path_rate`` override the arch values.
        dims: int (stage-1 width, doubled per stage) or one width per stage.
        d_state, ssm_ratio, dt_rank, d_conv, conv_bias: SS2D settings (tiny: 1, 1.0, 'auto'
            = ceil(dim / 16), 3, False).
        mlp_ratio: MLP hidden ratio (GELU). drop_path_rate: stochastic depth, linearly
            increasing over all blocks.
        out_indices: stages whose outputs are returned (NCHW, stride 4 * 2^i).
        out_norms: add a channel-first LayerNorm ``outnorm{i}`` on each returned output.
        frozen_stages: freeze the stem and stages ``< frozen_stages`` (-1: none).
        with_cp: gradient checkpointing per block.
        scan_backend: 'auto' (fused CUDA kernel if importable and the input is on CUDA,
            else PyTorch), 'torch', 'fused', 'ref'. scan_chunk_size: chunk length of the
            PyTorch scan (None: sqrt(L)). All blocks share one
            :class:`~recs4r_mm.models.layers.selective_scan.SelectiveScanDispatcher`,
            ``self.scan_dispatcher`` (call its ``reset()`` after installing a kernel in a
            running process).
        init_cfg: e.g. ``dict(type='Pretrained', checkpoint='vssm1_tiny_0230s_....pth')``
            (official key names; ``prefix`` optional, e.g. 'backbone.').
    """

    arch_zoo = {
        'tiny': dict(depths=(2, 2, 8, 2), dims=96, drop_path_rate=0.2),
    }

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 depths: Optional[Sequence[int]] = None,
                 dims: Union[int, Sequence[int], None] = None,
                 in_channels: int = 3,
                 d_state: int = 1,
                 ssm_ratio: float = 1.0,
                 dt_rank: Union[str, int] = 'auto',
                 d_conv: int = 3,
                 conv_bias: bool = False,
                 mlp_ratio: float = 4.0,
                 drop_path_rate: Optional[float] = None,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 out_norms: bool = True,
                 frozen_stages: int = -1,
                 with_cp: bool = False,
                 scan_backend: str = 'auto',
                 scan_chunk_size: Optional[int] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if isinstance(arch, str):
            if arch not in self.arch_zoo:
                raise KeyError(f'VMamba: unknown arch {arch!r}; choose from '
                               f'{sorted(self.arch_zoo)} or pass a dict')
            arch = self.arch_zoo[arch]
        depths = list(depths if depths is not None else arch['depths'])
        dims = dims if dims is not None else arch['dims']
        drop_path_rate = arch.get('drop_path_rate', 0.0) \
            if drop_path_rate is None else drop_path_rate
        num_stages = len(depths)
        if isinstance(dims, int):
            dims = [dims * 2**i for i in range(num_stages)]
        dims = list(dims)
        if len(dims) != num_stages:
            raise ValueError(f'VMamba: {len(dims)} dims for {num_stages} stages')
        out_indices = tuple(i + num_stages if i < 0 else i for i in out_indices)
        if any(not 0 <= i < num_stages for i in out_indices):
            raise ValueError(f'VMamba: out_indices {out_indices} outside 0..{num_stages - 1}')
        self.depths, self.dims, self.out_indices = depths, dims, out_indices
        self.num_stages, self.frozen_stages = num_stages, frozen_stages

        # stem (indices 1, 3, 6 are Identity placeholders kept for official key names)
        self.patch_embed = nn.Sequential(
            nn.Conv2d(in_channels, dims[0] // 2, 3, stride=2, padding=1), nn.Identity(),
            LayerNorm2d(dims[0] // 2), nn.Identity(), nn.GELU(),
            nn.Conv2d(dims[0] // 2, dims[0], 3, stride=2, padding=1), nn.Identity(),
            LayerNorm2d(dims[0]))

        dpr = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        self.scan_dispatcher = SelectiveScanDispatcher()
        ss2d_cfg = dict(d_state=d_state, ssm_ratio=ssm_ratio, dt_rank=dt_rank, d_conv=d_conv,
                        conv_bias=conv_bias, scan_backend=scan_backend,
                        scan_chunk_size=scan_chunk_size, scan_dispatcher=self.scan_dispatcher)
        self.layers = nn.ModuleList()
        for i in range(num_stages):
            blocks = [
                VSSBlock(dims[i], drop_path=dpr[sum(depths[:i]) + j], mlp_ratio=mlp_ratio,
                         with_cp=with_cp, **ss2d_cfg) for j in range(depths[i])
            ]
            if i < num_stages - 1:  # downsampling at the END of the stage
                downsample = nn.Sequential(
                    nn.Identity(), nn.Conv2d(dims[i], dims[i + 1], 3, stride=2, padding=1),
                    nn.Identity(), LayerNorm2d(dims[i + 1]))
            else:
                downsample = nn.Identity()
            self.layers.append(
                nn.Sequential(OrderedDict(blocks=nn.Sequential(*blocks), downsample=downsample)))
        for i in out_indices:
            self.add_module(f'outnorm{i}', LayerNorm2d(dims[i]) if out_norms else nn.Identity())

        self.apply(self._init_module)
        self._freeze_stages()

    @staticmethod
    def _init_module(m: nn.Module) -> None:
        """Official default init: trunc-normal(0.02) linears (incl. 1x1 Linear2d), unit LNs."""
        if isinstance(m, nn.Linear):  # Linear2d included
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    # ------------------------------------------------------------------ weights
    def init_weights(self) -> None:
        """Load an official/mmengine checkpoint for ``init_cfg.type == 'Pretrained'``."""
        cfg = self.init_cfg
        if not (isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'):
            super().init_weights()
            return
        if 'checkpoint' not in cfg:
            raise KeyError('VMamba init_cfg: type="Pretrained" needs a "checkpoint" path/URL')
        ckpt = CheckpointLoader.load_checkpoint(
            cfg['checkpoint'], map_location=cfg.get('map_location', 'cpu'), logger='current')
        state = convert_vmamba_state_dict(ckpt, prefix=cfg.get('prefix'))
        own = self.state_dict()
        mismatched = []
        for key in list(state):
            if key in own and state[key].shape != own[key].shape:
                if state[key].numel() == own[key].numel() and own[key].dim() == 2:
                    state[key] = state[key].reshape(own[key].shape)  # 1x1 conv -> Linear2d
                else:
                    mismatched.append(f'{key}: {tuple(state[key].shape)} vs '
                                      f'{tuple(own[key].shape)}')
                    state.pop(key)
        result = self.load_state_dict(state, strict=False)
        print_log(
            f'VMamba: loaded {len(state) - len(result.unexpected_keys)} tensors from '
            f'{cfg["checkpoint"]}; missing {len(result.missing_keys)} '
            f'({_summary(result.missing_keys)}), unexpected {len(result.unexpected_keys)} '
            f'({_summary(result.unexpected_keys)}), shape-mismatched {len(mismatched)} '
            f'({_summary(mismatched)})',
            logger='current')
        self._is_init = True

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        frozen = [self.patch_embed] + [self.layers[i] for i in range(self.frozen_stages)]
        for module in frozen:
            module.eval()
            for p in module.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        return self

    # ------------------------------------------------------------------ forward
    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """(B, C_in, H, W) -> tuple of (B, dims[i], ~H / 2^(i+2), ~W / 2^(i+2)) for out_indices."""
        x = self.patch_embed(x)
        outs = []
        for i, layer in enumerate(self.layers):
            feat = layer.blocks(x)
            if i in self.out_indices:
                outs.append(getattr(self, f'outnorm{i}')(feat).contiguous())
            x = layer.downsample(feat)  # all stages run (no unused parameters under DDP)
        return tuple(outs)


def _summary(keys, limit: int = 4) -> str:
    keys = list(keys)
    return ', '.join(keys[:limit]) + (' ...' if len(keys) > limit else '') if keys else '-'
