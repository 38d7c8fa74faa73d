"""Shared fixtures: one intra-op thread, a shrunk copy of the README main-job config and one
tiny training run."""
import os.path as osp

import pytest
import torch
from tool_runner import REPO, run_tool


@pytest.fixture
def single_thread():
    """Run a test on one intra-op thread (2 shared cores: oversubscription is slower and
    makes CPU timings erratic)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope='session')
def tiny_synthetic_config(tmp_path_factory):
    """The README main-job config shrunk for a test: 16 scenes at 64 px, 1 epoch, in a tmp dir."""
    root = tmp_path_factory.mktemp('tools')
    cfg = root / 'tiny_synthetic.py'
    cfg.write_text(f"""
_base_ = [{osp.join(REPO, 'configs', 'recs4r_tiny_synthetic.py')!r}]
data_root = {str(root / 'data')!r}
synthetic_generator = dict(num_images=16, image_size=64, seed=1)
img_scale = (64, 64)
train_dataloader = dict(batch_size=4, dataset=dict(data_root=data_root,
                        generator=synthetic_generator, pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='LoadRECSAnnotations', with_bbox=True, with_mask=True),
    dict(type='KeepOriginalImage'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='PackRECSInputs', meta_keys={{{{_base_.meta_keys}}}})]))
val_dataloader = dict(dataset=dict(data_root=data_root, generator=synthetic_generator,
                                   indices=6))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=1, val_interval=1)
param_scheduler = []
default_hooks = dict(logger=dict(interval=1))
log_processor = dict(window_size=1)
""")
    return root, cfg


@pytest.fixture(scope='session')
def trained_tiny_synthetic(tiny_synthetic_config):
    """One epoch of ``tools/train.py`` on the shrunk config:
    ``(root, cfg, work_dir, train_log)``."""
    root, cfg = tiny_synthetic_config
    work = root / 'work'
    log = run_tool(['tools/train.py', str(cfg), '--work-dir', str(work)], cwd=root)
    return root, cfg, work, log
