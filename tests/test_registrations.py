"""`import recs4r_mm` registers every module where a stock config can find it."""
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

import recs4r_mm

MMDET_NAMES = {
    'MODELS': ['RECS4R', 'LUCDPHead', 'CIMF', 'RCE', 'GradientConsistencyLoss', 'VMamba'],
    'DATASETS': ['RefDIORDataset', 'RefSegRSDataset', 'DIORRSVGDataset', 'SyntheticRefRSDataset'],
    'METRICS': ['RECSMetric'],
    'VISUALIZERS': ['RECSLocalVisualizer'],
}


@pytest.mark.parametrize('registry_name', sorted(MMDET_NAMES))
def test_modules_are_in_mmdet_registries(registry_name):
    import mmdet.registry
    registry = getattr(mmdet.registry, registry_name)
    for name in MMDET_NAMES[registry_name]:
        assert name in registry.module_dict, f'{name} missing from mmdet {registry_name}'


@pytest.mark.parametrize('toolbox', ['mmseg', 'mmpretrain'])
def test_shared_modules_are_in_other_toolboxes(toolbox):
    registry = __import__(f'{toolbox}.registry', fromlist=['MODELS']).MODELS
    mmdet_models = __import__('mmdet.registry', fromlist=['MODELS']).MODELS
    for name in recs4r_mm.registry.SHARED_MODULE_NAMES:
        assert registry.module_dict.get(name) is mmdet_models.module_dict[name], (toolbox, name)


def test_stock_configs_need_only_custom_imports(tmp_path):
    """A config with custom_imports builds our modules from mmseg's scope as well as mmdet's."""
    cfg_file = tmp_path / 'stock.py'
    cfg_file.write_text(
        "custom_imports = dict(imports=['recs4r_mm'], allow_failed_imports=False)\n"
        "loss = dict(type='GradientConsistencyLoss', loss_weight=0.5)\n")
    cfg = Config.fromfile(str(cfg_file))
    import mmdet.registry
    import mmseg.registry
    for scope, registry in (('mmdet', mmdet.registry.MODELS), ('mmseg', mmseg.registry.MODELS)):
        with DefaultScope.overwrite_default_scope(scope):
            loss = registry.build(cfg.loss)
        assert type(loss).__name__ == 'GradientConsistencyLoss'
        assert loss.loss_weight == 0.5
