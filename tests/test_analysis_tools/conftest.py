"""Fixtures of the analysis-tool tests: the tool scripts loaded as modules, one thread."""
import importlib.util
import os.path as osp

import pytest
import torch

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


@pytest.fixture
def single_thread():
    """One intra-op thread (2 shared cores: oversubscription makes CPU timings erratic)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope='session')
def ablation_tool():
    return _load_tool('synthetic_ablation')
