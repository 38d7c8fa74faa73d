"""Building blocks of RECS4R (attention with KV cache, RCE, soft rasteriser, crops...).

``selective_scan.py`` (VMamba) is imported by the VMamba backbone directly, not here.

Parts of RECS4R (CVPR 2026); where each is used: docs/design.md §2-§5.
"""
from .attention import KVCache, MultiheadAttention
from .coord_embedding import CoordGridEmbedding
from .positional_encoding import sine_positional_encoding_2d
from .rce import RCE, soft_box_map
from .roi_crop import crop_and_resize, crop_to_image_coords, expand_boxes, image_to_crop_coords
from .soft_raster import ring_edges, soft_rasterize
from .transformer_layers import FFN, TransformerDecoderLayer, TransformerEncoderLayer

__all__ = [
    'KVCache', 'MultiheadAttention', 'CoordGridEmbedding', 'sine_positional_encoding_2d',
    'RCE', 'soft_box_map', 'crop_and_resize', 'crop_to_image_coords', 'expand_boxes',
    'image_to_crop_coords', 'ring_edges', 'soft_rasterize', 'FFN', 'TransformerDecoderLayer',
    'TransformerEncoderLayer'
]
