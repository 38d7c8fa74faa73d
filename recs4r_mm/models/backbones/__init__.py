"""Backbones: VMamba (VSSM) with a CPU-capable selective scan."""
from .vmamba import VMamba
from .vmamba_blocks import SS2D, LayerNorm2d, Linear2d, VSSBlock, cross_merge, cross_scan
from .vmamba_checkpoint import convert_vmamba_state_dict

__all__ = [
    'VMamba', 'SS2D', 'VSSBlock', 'LayerNorm2d', 'Linear2d', 'cross_scan', 'cross_merge',
    'convert_vmamba_state_dict'
]
