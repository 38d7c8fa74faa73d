"""Rerun the paper's 4R ablation (full model vs each component off) on a config, same budget.

Each row trains ``tools/train.py CONFIG`` with the row's ``--cfg-options`` in its own work
directory, then the table is read from the runs' mmengine logs (the last validation):

    python tools/analysis_tools/synthetic_ablation.py configs/recs4r_tiny_synthetic.py \
        --work-root work_dirs/ablation --epochs 8 --parallel 2
    python tools/analysis_tools/synthetic_ablation.py configs/recs4r_tiny_synthetic.py \
        --work-root work_dirs/ablation --table-only      # re-print the table

Rows (the same switches as ``configs/ablation/``): ``full``; ``lucdp_off`` (PolyFormer-style
box tokens + polygon); ``rce_off`` (single stage: no crop, no fine pass, no L_coarse);
``cimf_off`` (FPN-style sum, no scale weights / text gates / cross-attention); ``gcl_off``.
With ``--parallel`` the runs share the machine (each gets ``--threads`` intra-op threads).
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from analyze_logs import load_log, resolve_log  # noqa: E402

ROWS: Dict[str, List[str]] = {
    'full': [],
    'lucdp_off': ['model.sequence_coder.seq_format=box_polygon'],
    'rce_off': ['model.refine=None'],
    'cimf_off': ['model.neck.variant=fpn_sum'],
    'gcl_off': ['model.head.loss_gcl.loss_weight=0.0'],
}
KEYS = ('VG_oIoU', 'VG_mIoU', 'VG_Acc@0.5', 'RIS_oIoU', 'RIS_mIoU', 'RECS_Sum')


def epoch_schedulers(config: str) -> List[int]:
    """Indices of the config's ``param_scheduler`` entries that end at ``max_epochs`` (they
    follow an ``--epochs`` override)."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    scheds = cfg.get('param_scheduler') or []
    scheds = [scheds] if isinstance(scheds, dict) else list(scheds)
    max_epochs = cfg.get('train_cfg', {}).get('max_epochs')
    return [i for i, sc in enumerate(scheds)
            if sc.get('by_epoch', True) and sc.get('end') == max_epochs]


def row_options(name: str, epochs: Optional[int], extra: List[str],
                schedulers: Sequence[int] = ()) -> List[str]:
    """The ``--cfg-options`` of one row (schedule overrides first, then the switches);
    ``schedulers`` are the ``param_scheduler`` indices whose ``end`` follows ``epochs``."""
    if name not in ROWS:
        raise ValueError(f'unknown row {name!r}; rows: {", ".join(ROWS)}')
    opts = []
    if epochs is not None:
        opts.append(f'train_cfg.max_epochs={epochs}')
        opts += [f'param_scheduler.{i}.end={epochs}' for i in schedulers]
    return opts + ROWS[name] + list(extra)


def train_command(config: str, work_dir: str, options: List[str]) -> List[str]:
    cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'), config, '--work-dir', work_dir]
    return cmd + (['--cfg-options'] + options if options else [])


def last_val(work_dir: str) -> Optional[dict]:
    """The last validation record of a run (None if it has none)."""
    try:
        log = load_log(resolve_log(work_dir))
    except FileNotFoundError:
        return None
    vals = log.get('val') or []
    return vals[-1] if vals else None


def format_table(results: Dict[str, Optional[dict]], minutes: Dict[str, float]) -> str:
    head = '| row | ' + ' | '.join(KEYS) + ' | wall (min) |'
    lines = [head, '|' + '---|' * (len(KEYS) + 2)]
    for name, rec in results.items():
        if rec is None:
            cells = ['no validation in the log'] + [''] * (len(KEYS) - 1)
        else:
            cells = [f'{rec[f"recs/{k}"]:.2f}' if f'recs/{k}' in rec else '–' for k in KEYS]
        wall = f'{minutes[name]:.1f}' if name in minutes else '–'
        lines.append(f'| {name} | ' + ' | '.join(cells) + f' | {wall} |')
    return '\n'.join(lines)


def run_rows(config: str, rows: List[str], work_root: str, epochs: Optional[int],
             extra: List[str], parallel: int, threads: int) -> Dict[str, float]:
    """Train every row (``parallel`` at a time); returns wall minutes per row."""
    schedulers = epoch_schedulers(config) if epochs is not None else []
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    pending, running, minutes = list(rows), {}, {}
    while pending or running:
        while pending and len(running) < parallel:
            name = pending.pop(0)
            wd = osp.join(work_root, name)
            os.makedirs(wd, exist_ok=True)
            log = open(osp.join(wd, 'ablation_stdout.log'), 'w')
            cmd = train_command(config, wd, row_options(name, epochs, extra, schedulers))
            print('[ablation] ' + ' '.join(cmd), flush=True)
            proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log,
                                    stderr=subprocess.STDOUT)
            running[name] = (proc, time.time(), log)
        time.sleep(2)
        for name, (proc, start, log) in list(running.items()):
            if proc.poll() is not None:
                log.close()
                minutes[name] = (time.time() - start) / 60
                status = 'done' if proc.returncode == 0 else f'FAILED (exit {proc.returncode})'
                print(f'[ablation] {name}: {status} in {minutes[name]:.1f} min', flush=True)
                del running[name]
    return minutes


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--work-root', default='work_dirs/synthetic_ablation')
    p.add_argument('--rows', nargs='+', default=list(ROWS), choices=list(ROWS))
    p.add_argument('--epochs', type=int, default=None,
                   help="override the config's max_epochs (and the cosine schedule's end)")
    p.add_argument('--parallel', type=int, default=1, help='runs at a time')
    p.add_argument('--threads', type=int, default=1, help='intra-op threads per run')
    p.add_argument('--cfg-options', nargs='*', default=[],
                   help='extra key=value overrides for every row')
    p.add_argument('--table-only', action='store_true', help='only read the existing runs')
    args = p.parse_args(argv)
    if not osp.isfile(args.config):
        print(f'error: config {args.config} not found', file=sys.stderr)
        return 1
    minutes = {}
    if not args.table_only:
        minutes = run_rows(args.config, args.rows, args.work_root, args.epochs,
                           args.cfg_options, max(1, args.parallel), max(1, args.threads))
    results = {r: last_val(osp.join(args.work_root, r)) for r in args.rows}
    table = format_table(results, minutes)
    print(table)
    with open(osp.join(args.work_root, 'ablation_table.md'), 'w') as f:
        f.write(table + '\n')
    return 0 if all(v is not None for v in results.values()) else 2


if __name__ == '__main__':
    sys.exit(main())
