"""Key mapping from official VMamba checkpoints to :class:`VMamba`.

The checkpoints are those released with Liu et al., "VMamba: Visual State Space Model", arXiv
2401.10166 (github.com/MzeroMiko/VMamba); the modules they fill are the VSS blocks / SS2D of its
sections "Network Architecture" and "2D-Selective-Scan for Vision Data (SS2D)". The mapping
table is in ``docs/vmamba.md``, section "Checkpoint key mapping".

Our parameters carry the official names, so the mapping is near-identity:

* unwrap ``ckpt['model']`` (official release) or ``ckpt['state_dict']`` (mmengine);
* strip a ``module.`` prefix, and a ``backbone.`` prefix (detector/segmentor checkpoints);
* drop ``classifier.*`` (ImageNet head and its norm);
* rename keys of the first public release the way the official loader does
  (``patch_embed.proj`` -> ``patch_embed.0``, ``patch_embed.norm`` -> ``patch_embed.2``,
  ``blocks.{j}.ln_1`` -> ``blocks.{j}.norm``, ``blocks.{j}.self_attention`` -> ``blocks.{j}.op``;
  top-level ``norm.*``/``head.*`` are the classifier and are dropped);
* 1x1-conv weights (out, in, 1, 1) are reshaped to the (out, in) linear layout by the model.
"""
import re
from collections import OrderedDict
from typing import Dict, Mapping, Optional

from torch import Tensor

__all__ = ['convert_vmamba_state_dict']

_LEGACY_RENAMES = (
    (re.compile(r'^patch_embed\.proj\.'), 'patch_embed.0.'),
    (re.compile(r'^patch_embed\.norm\.'), 'patch_embed.2.'),
    (re.compile(r'(\.blocks\.\d+)\.ln_1\.'), r'\1.norm.'),
    (re.compile(r'(\.blocks\.\d+)\.self_attention\.'), r'\1.op.'),
)
_DROPPED = re.compile(r'^(classifier|head|norm)\.')


def _unwrap(ckpt: Mapping) -> Mapping:
    for key in ('model', 'state_dict'):
        if key in ckpt and isinstance(ckpt[key], Mapping):
            return ckpt[key]
    return ckpt


def convert_vmamba_state_dict(ckpt: Mapping, prefix: Optional[str] = None) -> Dict[str, Tensor]:
    """Official VMamba checkpoint (or its ``model`` dict) -> state dict for :class:`VMamba`.

    Args:
        ckpt: the loaded checkpoint.
        prefix: keep only keys starting with this prefix and strip it (e.g. ``'backbone.'``).
            By default a ``backbone.`` prefix is stripped when no key is a backbone key already.
    """
    state = _unwrap(ckpt)
    if not isinstance(state, Mapping):
        raise TypeError(f'VMamba checkpoint: expected a dict of tensors, got {type(state)}')
    state = {(k[len('module.'):] if k.startswith('module.') else k): v for k, v in state.items()}
    if prefix is None and not any(k.startswith(('patch_embed.', 'layers.')) for k in state) \
            and any(k.startswith('backbone.') for k in state):
        prefix = 'backbone.'
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    out = OrderedDict()
    for key, value in state.items():
        if _DROPPED.match(key):
            continue
        for pattern, repl in _LEGACY_RENAMES:
            key = pattern.sub(repl, key)
        out[key] = value
    return out
