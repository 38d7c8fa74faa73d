"""Let ``mmseg::`` config bases resolve under the onedl-* distributions.

mmengine maps the ``mmseg::`` prefix to the distribution ``mmsegmentation``; the maintained fork
installs as ``onedl-mmsegmentation`` (import name ``mmseg``), so ``Config.fromfile`` of a config
with ``_base_ = ['mmseg::...']`` would fail with "mmsegmentation is not installed". The other
prefixes we use (``mmdet::``, ``mmpretrain::``) already resolve through their import names.

No paper part; docs/plugins.md "Scope notes".
"""
import importlib.metadata
import importlib.util


def fix_config_package_names():
    """Point ``mmseg::`` at the ``mmseg`` import when ``mmsegmentation`` is not a distribution.

    Called on ``import recs4r_mm``, i.e. before our tools parse a config. Idempotent.
    """
    from mmengine.config import utils as config_utils
    for prefix, dist in (('mmseg', 'mmsegmentation'), ):
        if config_utils.MODULE2PACKAGE.get(prefix) != dist:
            continue
        try:
            importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            if importlib.util.find_spec(prefix) is not None:
                config_utils.MODULE2PACKAGE[prefix] = prefix
