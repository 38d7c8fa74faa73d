"""Fixtures of the analysis-tool tests: the tool scripts loaded as modules."""
import importlib.util
import os.path as osp

import pytest

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TOOLS = osp.join(REPO, 'tools', 'analysis_tools')


def _load_tool(name: str):
    """``tools/analysis_tools/<name>.py`` as a module (the tools are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f'recs4r_tool_{name}',
                                                  osp.join(TOOLS, f'{name}.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='session')
def benchmark_tool():
    return _load_tool('benchmark')


@pytest.fixture(scope='session')
def analyze_logs_tool():
    return _load_tool('analyze_logs')


@pytest.fixture(scope='session')
def ablation_tool():
    return _load_tool('synthetic_ablation')


@pytest.fixture(scope='session')
def compare_tool():
    return _load_tool('compare_predictions')
