"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [options]``.

Same arguments as mmdet's ``tools/test.py``: ``--out`` dumps the per-sample predictions to a pickle,
``--show-dir`` draws them (mask, box, contour) into ``work_dir/<timestamp>/<show_dir>``.
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import recs4r_mm  # noqa: F401  (registers our modules)
from recs4r_mm.utils import finish_distributed, load_tool_config


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a RECS4R model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='directory for the evaluation logs and metrics')
    parser.add_argument('--out', type=str,
                        help='dump the predictions to this pickle file (.pkl/.pickle)')
    parser.add_argument('--show', action='store_true', help='show predictions in a window')
    parser.add_argument('--show-dir', help='draw predictions into this directory (under work_dir)')
    parser.add_argument('--wait-time', type=float, default=2, help='seconds between --show images')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, e.g. test_evaluator.eval_size=[480,480]')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def add_visualization(cfg, args):
    """Turn on the visualization hook for --show / --show-dir."""
    hooks = cfg.default_hooks
    if 'visualization' not in hooks:
        raise RuntimeError(f'{args.config}: --show/--show-dir need a `visualization` entry in '
                           'default_hooks (e.g. dict(type="DetVisualizationHook"))')
    hooks.visualization.draw = True
    if args.show:
        hooks.visualization.show = True
        hooks.visualization.wait_time = args.wait_time
    if args.show_dir:
        hooks.visualization.test_out_dir = args.show_dir


def build_test_config(args):
    cfg = load_tool_config(args.config, args.launcher, args.cfg_options, args.work_dir)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not exist')
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        add_visualization(cfg, args)
    return cfg


def main():
    args = parse_args()
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out must be a .pkl or .pickle file, got {args.out}')
    cfg = build_test_config(args)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    if args.out is not None:
        from mmdet.evaluation import DumpDetResults
        runner.test_evaluator.metrics.append(DumpDetResults(out_file_path=args.out))
    runner.test()
    finish_distributed()  # a gloo rank torn down at exit can abort after the work is saved


if __name__ == '__main__':
    main()
