"""Registries used by recs4r_mm.

Every module is registered into **mmdet's** registries (our configs run with
``default_scope = 'mmdet'``), so a stock mmdet config needs only
``custom_imports = dict(imports=['recs4r_mm'], allow_failed_imports=False)``.

The modules meant to be dropped into other toolboxes (the VMamba backbone, the CIMF neck and the
GradientConsistencyLoss) are also registered into mmseg's and mmpretrain's ``MODELS`` by
:func:`register_into_toolboxes`, which ``recs4r_mm/__init__.py`` calls once, so they resolve under
``default_scope='mmseg'`` / ``'mmpretrain'`` as well.

No paper part; docs/plugins.md.
"""
from mmdet.registry import DATASETS, HOOKS, METRICS, MODELS, TASK_UTILS, TRANSFORMS, VISUALIZERS

__all__ = [
    'DATASETS', 'HOOKS', 'METRICS', 'MODELS', 'TASK_UTILS', 'TRANSFORMS', 'VISUALIZERS',
    'SHARED_MODULE_NAMES', 'register_into_toolboxes'
]

# Modules that also go into mmseg's and mmpretrain's MODELS registries.
SHARED_MODULE_NAMES = ('VMamba', 'CIMF', 'GradientConsistencyLoss')


def register_into_toolboxes(names=SHARED_MODULE_NAMES):
    """Register the mmdet-registered classes ``names`` into mmseg and mmpretrain ``MODELS``.

    Only the registries are imported (``mmseg.registry``, ``mmpretrain.registry``), never the
    toolboxes' model zoos, so this stays cheap. A toolbox that is not installed is skipped.
    """
    registries = []
    for toolbox in ('mmseg', 'mmpretrain'):
        try:
            module = __import__(f'{toolbox}.registry', fromlist=['MODELS'])
        except ImportError:
            continue
        registries.append(module.MODELS)
    for name in names:
        cls = MODELS.module_dict.get(name)  # no lazy import of mmdet.models
        if cls is None:
            continue  # module not implemented in this build
        for registry in registries:
            if registry.get(name) is not cls:
                registry.register_module(name=name, module=cls, force=True)
