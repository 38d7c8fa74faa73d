"""Rerun the paper's 4R ablation (remove-one and add-one) on a config, same budget, per seed.

Each row trains ``tools/train.py CONFIG`` with the row's ``--cfg-options`` in its own work
directory, then the table is read from the runs' mmengine logs (the last validation):

    python tools/analysis_tools/synthetic_ablation.py configs/recs4r_tiny_synthetic.py \
        --work-root work_dirs/ablation --epochs 8 --parallel 2 --seeds 0 1
    python tools/analysis_tools/synthetic_ablation.py configs/recs4r_tiny_synthetic_native.py \
        --work-root work_dirs/ablation_native --iters 2000 --parallel 2 --seeds 0 1
    python tools/analysis_tools/synthetic_ablation.py configs/recs4r_tiny_synthetic.py \
        --work-root work_dirs/ablation --seeds 0 1 --table-only      # re-print the table

Remove-one rows (the same switches as ``configs/ablation/``): ``full``; ``lucdp_off``
(PolyFormer-style box tokens + polygon); ``rce_off`` (single stage: no crop, no fine pass, no
L_coarse); ``cimf_off`` (FPN-style sum, no scale weights / text gates / cross-attention);
``gcl_off``. Add-one rows, the paper's form: ``baseline`` (all four off: single-stage box
tokens + polygon, FPN sum, no GCL) and ``baseline_lucdp`` / ``_rce`` / ``_cimf`` / ``_gcl``
(one switched on). ``paper``: the full model in the paper's formulation (the switch set of
``configs/_base_/models/recs4r_paper_formulation.py``). ``--row NAME KEY=VALUE ...`` adds a
row of one's own (e.g. ``--row rce_local model.rce.channel_source=local``). With ``--seeds``
every row runs once per seed (``randomness.seed``) in ``WORK_ROOT/ROW/seedS`` and the table adds
their mean. With ``--parallel`` the runs share the machine (each gets ``--threads`` intra-op
threads). ``--epochs`` sets the budget of a config that trains by epochs, ``--iters`` that of
one that trains by iterations (``IterBasedTrainLoop``, e.g. the native main job; it then
validates at the middle and the end); the cosine schedule's end follows either.
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from analyze_logs import load_log, resolve_log  # noqa: E402

LUCDP_OFF = 'model.sequence_coder.seq_format=box_polygon'
RCE_OFF = 'model.refine=None'
CIMF_OFF = 'model.neck.variant=fpn_sum'
GCL_OFF = 'model.head.loss_gcl.loss_weight=0.0'
OFF = dict(lucdp=LUCDP_OFF, rce=RCE_OFF, cimf=CIMF_OFF, gcl=GCL_OFF)
ROWS: Dict[str, List[str]] = {
    # remove-one
    'full': [],
    'lucdp_off': [LUCDP_OFF],
    'rce_off': [RCE_OFF],
    'cimf_off': [CIMF_OFF],
    'gcl_off': [GCL_OFF],
    # add-one: the PolyFormer-style baseline, then one component on
    'baseline': list(OFF.values()),
    **{f'baseline_{on}': [v for k, v in OFF.items() if k != on] for on in OFF},
}
PAPER_FORMULATION = osp.join(REPO, 'configs', '_base_', 'models',
                             'recs4r_paper_formulation.py')


def paper_row(path: str = PAPER_FORMULATION) -> List[str]:
    """The ``paper`` row: the switch set of ``recs4r_paper_formulation.py`` as options."""
    from mmengine.config import Config

    def flat(value, prefix):
        if isinstance(value, dict) and value:
            return [o for k, v in value.items() for o in flat(v, f'{prefix}.{k}')]
        return [f'{prefix}={value}']

    return flat(Config.fromfile(path).paper_formulation.to_dict(), 'model')


KEYS = ('VG_oIoU', 'VG_mIoU', 'VG_Acc@0.5', 'RIS_oIoU', 'RIS_mIoU', 'RECS_Sum')


def _budget_schedulers(config: str, by_epoch: bool) -> List[int]:
    """Indices of the config's ``param_scheduler`` entries counted in epochs (``by_epoch``) or
    iterations that end at the train loop's ``max_epochs`` / ``max_iters``."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    scheds = cfg.get('param_scheduler') or []
    scheds = [scheds] if isinstance(scheds, dict) else list(scheds)
    budget = cfg.get('train_cfg', {}).get('max_epochs' if by_epoch else 'max_iters')
    return [i for i, sc in enumerate(scheds)
            if sc.get('by_epoch', True) == by_epoch and sc.get('end') == budget]


def epoch_schedulers(config: str) -> List[int]:
    """The ``param_scheduler`` indices that follow an ``--epochs`` override."""
    return _budget_schedulers(config, by_epoch=True)


def iter_schedulers(config: str) -> List[int]:
    """The ``param_scheduler`` indices that follow an ``--iters`` override."""
    return _budget_schedulers(config, by_epoch=False)


def trains_by_iterations(config: str) -> bool:
    """Whether the config's train loop is ``IterBasedTrainLoop`` (its budget is
    ``max_iters``, overridden by ``--iters``) rather than epochs (``--epochs``)."""
    from mmengine.config import Config
    return Config.fromfile(config).get('train_cfg', {}).get('type') == 'IterBasedTrainLoop'


def row_options(name: str, epochs: Optional[int], extra: List[str],
                schedulers: Sequence[int] = (), seed: Optional[int] = None,
                rows: Optional[Dict[str, List[str]]] = None,
                iters: Optional[int] = None) -> List[str]:
    """The ``--cfg-options`` of one row (schedule overrides first, then the seed, the
    switches and ``extra``); ``schedulers`` are the ``param_scheduler`` indices whose ``end``
    follows ``epochs`` (or ``iters``, validated at the middle and the end); ``rows``
    defaults to :data:`ROWS`."""
    rows = ROWS if rows is None else rows
    if name not in rows:
        raise ValueError(f'unknown row {name!r}; rows: {", ".join(rows)}')
    if epochs is not None and iters is not None:
        raise ValueError('give the budget in epochs or in iterations, not both')
    opts = []
    if epochs is not None:
        opts.append(f'train_cfg.max_epochs={epochs}')
        opts += [f'param_scheduler.{i}.end={epochs}' for i in schedulers]
    if iters is not None:
        opts += [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={max(1, iters // 2)}']
        opts += [f'param_scheduler.{i}.end={iters}' for i in schedulers]
    if seed is not None:
        opts.append(f'randomness.seed={seed}')
    return opts + rows[name] + list(extra)


def run_dir(work_root: str, name: str, seed: Optional[int]) -> str:
    """WORK_ROOT/ROW, or WORK_ROOT/ROW/seedS for a run with a given seed."""
    if seed is None:
        return osp.join(work_root, name)
    return osp.join(work_root, name, f'seed{seed}')


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


def format_table(results: Dict[Tuple[str, Optional[int]], Optional[dict]],
                 minutes: Dict[Tuple[str, Optional[int]], float],
                 keys: Sequence[str] = KEYS) -> str:
    """One line per (row, seed) run, plus each row's mean over its seeds when it has several
    (runs without a validation are left out of the mean)."""
    head = '| row | seed | ' + ' | '.join(keys) + ' | wall (min) |'
    lines = [head, '|' + '---|' * (len(keys) + 3)]
    by_row: Dict[str, list] = {}
    for (name, seed), rec in results.items():
        by_row.setdefault(name, []).append((seed, rec))
    for name, runs in by_row.items():
        for seed, rec in runs:
            if rec is None:
                cells = ['no validation in the log'] + [''] * (len(keys) - 1)
            else:
                cells = [f'{rec[f"recs/{k}"]:.2f}' if f'recs/{k}' in rec else '–'
                         for k in keys]
            wall = minutes.get((name, seed))
            wall = '–' if wall is None else f'{wall:.1f}'
            lines.append(f'| {name} | {"–" if seed is None else seed} | ' + ' | '.join(cells) +
                         f' | {wall} |')
        done = [rec for _, rec in runs if rec is not None]
        if len(runs) > 1 and done:
            cells = []
            for k in keys:
                vals = [rec[f'recs/{k}'] for rec in done if f'recs/{k}' in rec]
                cells.append(f'{sum(vals) / len(vals):.2f}' if vals else '–')
            lines.append(f'| {name} | mean of {len(done)} | ' + ' | '.join(cells) + ' | |')
    return '\n'.join(lines)


def run_rows(config: str, runs: List[Tuple[str, Optional[int]]], work_root: str,
             epochs: Optional[int], extra: List[str], parallel: int, threads: int,
             rows: Optional[Dict[str, List[str]]] = None, iters: Optional[int] = None
             ) -> Dict[Tuple[str, Optional[int]], float]:
    """Train every (row, seed) run (``parallel`` at a time); returns wall minutes per run."""
    schedulers = epoch_schedulers(config) if epochs is not None else (
        iter_schedulers(config) if iters is not None else [])
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    pending, running, minutes = list(runs), {}, {}
    while pending or running:
        while pending and len(running) < parallel:
            run = pending.pop(0)
            wd = run_dir(work_root, *run)
            os.makedirs(wd, exist_ok=True)
            log = open(osp.join(wd, 'ablation_stdout.log'), 'w')
            cmd = train_command(config, wd,
                                row_options(run[0], epochs, extra, schedulers, run[1], rows,
                                            iters))
            print('[ablation] ' + ' '.join(cmd), flush=True)
            proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log,
                                    stderr=subprocess.STDOUT)
            running[run] = (proc, time.time(), log)
        time.sleep(2)
        for run, (proc, start, log) in list(running.items()):
            if proc.poll() is not None:
                log.close()
                minutes[run] = (time.time() - start) / 60
                status = 'done' if proc.returncode == 0 else f'FAILED (exit {proc.returncode})'
                print(f'[ablation] {run[0]} (seed {run[1]}): {status} in {minutes[run]:.1f} min',
                      flush=True)
                del running[run]
    return minutes


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--work-root', default='work_dirs/synthetic_ablation')
    p.add_argument('--rows', nargs='+', default=None,
                   help=f'rows to run (default: all of {", ".join(ROWS)}, paper and every '
                   '--row)')
    p.add_argument('--row', nargs='+', action='append', default=[],
                   metavar=('NAME', 'KEY=VALUE'), help='an extra row: its name and options')
    p.add_argument('--seeds', type=int, nargs='+', default=None,
                   help="run every row once per seed (default: the config's seed, once)")
    p.add_argument('--epochs', type=int, default=None,
                   help="override the config's max_epochs (and the cosine schedule's end)")
    p.add_argument('--iters', type=int, default=None,
                   help="override the max_iters of a config that trains by iterations")
    p.add_argument('--parallel', type=int, default=1, help='runs at a time')
    p.add_argument('--threads', type=int, default=1, help='intra-op threads per run')
    p.add_argument('--cfg-options', nargs='*', default=[],
                   help='extra key=value overrides for every row')
    p.add_argument('--family', action='append', default=[],
                   help='also tabulate this shape family (e.g. tiny): its RIS mIoU and RECS Sum')
    p.add_argument('--table-only', action='store_true', help='only read the existing runs')
    args = p.parse_args(argv)
    if not osp.isfile(args.config):
        print(f'error: config {args.config} not found', file=sys.stderr)
        return 1
    by_iters = trains_by_iterations(args.config)
    if args.epochs is not None and by_iters:
        print(f'error: {args.config} trains by iterations (IterBasedTrainLoop): give the '
              'budget with --iters, not --epochs', file=sys.stderr)
        return 1
    if args.iters is not None and not by_iters:
        print(f'error: {args.config} trains by epochs: give the budget with --epochs, not '
              '--iters', file=sys.stderr)
        return 1
    rows = dict(ROWS, paper=paper_row())
    for spec in args.row:
        if spec[0] in ROWS:
            print(f'error: --row {spec[0]} is a built-in row', file=sys.stderr)
            return 1
        rows[spec[0]] = spec[1:]
    names = args.rows or list(rows)
    unknown = [n for n in names if n not in rows]
    if unknown:
        print(f'error: unknown rows {unknown}; rows: {", ".join(rows)}', file=sys.stderr)
        return 1
    runs = [(n, s) for n in names for s in (args.seeds or [None])]
    minutes = {}
    if not args.table_only:
        minutes = run_rows(args.config, runs, args.work_root, args.epochs, args.cfg_options,
                           max(1, args.parallel), max(1, args.threads), rows, args.iters)
    results = {r: last_val(run_dir(args.work_root, *r)) for r in runs}
    keys = list(KEYS) + [f'{f}/{k}' for f in args.family for k in ('RIS_mIoU', 'RECS_Sum')]
    table = format_table(results, minutes, keys)
    print(table)
    with open(osp.join(args.work_root, 'ablation_table.md'), 'w') as f:
        f.write(table + '\n')
    return 0 if all(v is not None for v in results.values()) else 2


if __name__ == '__main__':
    sys.exit(main())
