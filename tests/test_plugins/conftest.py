"""Fixtures of the plugin tests (helpers live in plugin_helpers.py)."""
import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: 2 shared cores, tiny tensors (oversubscription only slows down)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
