"""Backbones: VMamba (VSSM) with a CPU-capable selective scan.

VMamba: Liu et al., arXiv 2401.10166; its scan is Mamba's S6 (Gu & Dao, arXiv 2312.00752);
docs/vmamba.md. Swin-T and ConvNeXt-T come from mmdet / mmpretrain (docs/design.md §2).
"""
from .vmamba import VMamba
from .vmamba_blocks import SS2D, LayerNorm2d, Linear2d, VSSBlock, cross_merge, cross_scan
from .vmamba_checkpoint import convert_vmamba_state_dict

__all__ = [
    'VMamba', 'SS2D', 'VSSBlock', 'LayerNorm2d', 'Linear2d', 'cross_scan', 'cross_merge',
    'convert_vmamba_state_dict'
]
