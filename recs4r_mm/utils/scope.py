"""Default-scope handling.

recs4r_mm registers into mmdet's registries, so our configs run with ``default_scope='mmdet'``.
A config that sets no scope (e.g. a user's bare config) gets ``'mmdet'``; a config that sets one
(``'mmseg'`` for a stock UperNet using our VMamba) keeps it, because our shared modules are also
registered in mmseg's and mmpretrain's MODELS.

No paper part; docs/plugins.md "Scope notes".
"""
DEFAULT_SCOPE = 'mmdet'


def setup_default_scope(cfg):
    """Give ``cfg`` a ``default_scope`` of ``'mmdet'`` unless it already names one."""
    if cfg.get('default_scope') is None:
        cfg.default_scope = DEFAULT_SCOPE
    return cfg
