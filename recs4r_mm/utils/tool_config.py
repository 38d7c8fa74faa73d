"""The config set-up shared by ``tools/train.py`` and ``tools/test.py``.

No paper part; docs/get_started.md §2-§3 (train, test).
"""
import os.path as osp

from mmengine.config import Config

from .dist import setup_cpu_distributed
from .scope import setup_default_scope


def load_tool_config(config, launcher='none', cfg_options=None, work_dir=None):
    """Load ``config`` and apply what both tools apply, in mmdet's order of priority.

    ``--cfg-options`` overrides, the default scope, the CPU distributed set-up, and the work
    dir: command line > config > ``./work_dirs/<config name>``.
    """
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    setup_default_scope(cfg)
    setup_cpu_distributed(cfg)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])
    return cfg
