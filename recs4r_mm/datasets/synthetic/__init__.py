"""Synthetic remote-sensing referring datasets: RefDIOR layout, and a generalized set
(no-target and multi-target expressions) in gRefCOCO's layout.

Standalone: imports only numpy, OpenCV and the standard library (nothing else
of recs4r_mm), so it can run before the rest of the stack is installed.

No paper part: a stand-in for RefDIOR whose objects have the shapes RECS4R (CVPR 2026)
targets; docs/synthetic_data.md.
"""
from .colors import COLOR_NAMES, OBJECT_COLORS
from .expressions import SceneDescriber, basic_tokens, describe_scene
from .families import SHAPE_FAMILIES, classify_mask, measure_mask, tiny_area
from .grefs_writer import GREFS_GENERATOR, ensure_synthetic_grefs, generate_synthetic_grefs
from .group_expressions import GroupDescriber, SetDesc
from .preview import render_preview
from .rle import encode_rle
from .scene import Scene, SceneObject, make_scene
from .shapes import CATEGORIES, FAMILY_CATEGORIES, draw_shape
from .vocab import SPECIAL_TOKENS, vocab_tokens, write_vocab
from .writer import (GENERATOR_VERSION, SPLITS, ensure_synthetic_refrs, generate_synthetic_refrs,
                     read_meta, split_counts)

__all__ = [
    'generate_synthetic_refrs', 'ensure_synthetic_refrs', 'read_meta', 'split_counts',
    'render_preview', 'make_scene', 'Scene', 'SceneObject', 'describe_scene',
    'SceneDescriber', 'basic_tokens', 'draw_shape', 'CATEGORIES', 'FAMILY_CATEGORIES',
    'SHAPE_FAMILIES', 'classify_mask', 'measure_mask', 'tiny_area', 'COLOR_NAMES',
    'OBJECT_COLORS', 'SPECIAL_TOKENS', 'vocab_tokens', 'write_vocab',
    'GENERATOR_VERSION', 'SPLITS', 'generate_synthetic_grefs', 'ensure_synthetic_grefs',
    'GREFS_GENERATOR', 'GroupDescriber', 'SetDesc', 'encode_rle'
]
