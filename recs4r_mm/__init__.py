"""recs4r_mm: RECS4R (CVPR 2026) for OpenMMLab 3.x.

Importing the package registers every module into mmdet's registries, and the VMamba backbone,
the CIMF neck and the GradientConsistencyLoss also into mmseg's and mmpretrain's MODELS, so a stock
config needs only ``custom_imports = dict(imports=['recs4r_mm'])``.

Paper: RECS4R (CVPR 2026); where each part of the paper lives in the code: docs/design.md §1-§9.
"""
from . import apis, datasets, engine, evaluation, models, structures, visualization
from .registry import register_into_toolboxes
from .utils import fix_config_package_names
from .version import __version__

register_into_toolboxes()
fix_config_package_names()  # so our tools can parse `mmseg::` bases

__all__ = [
    '__version__', 'apis', 'datasets', 'engine', 'evaluation', 'models', 'structures',
    'visualization',
    'register_into_toolboxes'
]
