"""Plot loss / metric curves and compute training time from mmengine JSON logs.

mmengine writes ``work_dir/<timestamp>/vis_data/scalars.json`` (and the same lines in
``<timestamp>.json``): one JSON dict per line. Training lines carry ``loss``, ``lr``, ``time``,
``epoch`` (epoch-based loops), ``iter`` and ``step`` (both the global iteration);
validation lines carry the metric keys (``recs/RECS_Sum``, ``recs/RIS_mIoU`` ...)
and ``step`` (the epoch, or the iteration for iteration-based loops).

    python tools/analysis_tools/analyze_logs.py plot_curve LOG.json [LOG2.json ...] \
        --keys loss recs/RECS_Sum [--legend run1 run2] [--title T] --out curve.png
    python tools/analysis_tools/analyze_logs.py cal_train_time LOG.json [--include-outliers]

A LOG may also be a work directory or a ``<timestamp>`` directory: its newest
``vis_data/scalars.json`` is used.

Each key gets its own panel: training keys against the global iteration, validation keys
against the epoch (the iteration when the log has no epochs).
"""
import argparse
import glob
import json
import os
import os.path as osp
import statistics
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence


def resolve_log(path: str) -> str:
    """A JSON log file, or the newest ``*/vis_data/scalars.json`` under a directory."""
    if osp.isfile(path):
        return path
    if osp.isdir(path):
        cands = glob.glob(osp.join(path, 'vis_data', 'scalars.json')) + glob.glob(
            osp.join(path, '*', 'vis_data', 'scalars.json'))
        if cands:
            return max(cands, key=lambda p: (osp.basename(osp.dirname(osp.dirname(p))),
                                             osp.getmtime(p)))
        raise FileNotFoundError(f'{path}: no vis_data/scalars.json under this directory')
    raise FileNotFoundError(f'log {path} does not exist')


def load_log(path: str) -> Dict[str, List[dict]]:
    """Split a JSON-lines log into ``train`` and ``val`` records (in file order).

    A line with ``loss`` or ``lr`` is a training line; any other line with a ``step`` is a
    validation line. Malformed lines raise ``ValueError`` naming the file and line.
    """
    path = resolve_log(path)
    train, val = [], []
    with open(path) as f:
        for i, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}:{i}: not a JSON line ({err.msg})') from None
            if not isinstance(rec, dict):
                raise ValueError(f'{path}:{i}: expected a JSON object, got {type(rec).__name__}')
            if 'loss' in rec or 'lr' in rec or 'iter' in rec:
                train.append(rec)
            elif 'step' in rec:
                val.append(rec)
    if not train and not val:
        raise ValueError(f'{path}: no training or validation lines')
    return dict(train=train, val=val, path=path)


def _global_iter(rec: dict) -> float:
    return rec['step'] if 'step' in rec else rec['iter']


def curve(log: Dict[str, List[dict]], key: str):
    """(xs, ys, x_label) of ``key`` in a log; training keys take precedence."""
    tr = [r for r in log['train'] if key in r]
    if tr:
        return [_global_iter(r) for r in tr], [r[key] for r in tr], 'iteration'
    va = [r for r in log['val'] if key in r]
    if va:
        by_epoch = any('epoch' in r for r in log['train']) or not log['train']
        return [r['step'] for r in va], [r[key] for r in va], 'epoch' if by_epoch else 'iteration'
    return [], [], ''


def available_keys(log: Dict[str, List[dict]]) -> List[str]:
    skip = {'step', 'iter', 'epoch'}
    keys = OrderedDict()
    for r in log['train'] + log['val']:
        for k in r:
            if k not in skip:
                keys[k] = True
    return list(keys)


def plot_curve(logs: Sequence[str], keys: Sequence[str], out: Optional[str] = None,
               legend: Optional[Sequence[str]] = None, title: Optional[str] = None):
    """One panel per key, one line per log. Returns the matplotlib figure."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    if legend is not None and len(legend) != len(logs):
        raise ValueError(f'--legend has {len(legend)} names for {len(logs)} logs')
    data = [load_log(p) for p in logs]
    names = list(legend) if legend else [
        osp.basename(osp.dirname(osp.dirname(d['path']))) or osp.basename(d['path'])
        if osp.basename(d['path']) == 'scalars.json' else osp.basename(d['path'])
        for d in data
    ]
    for k in keys:
        if not any(curve(d, k)[0] for d in data):
            raise KeyError(f'key {k!r} is in none of the logs; available: '
                           f'{", ".join(available_keys(data[0]))}')
    fig, axes = plt.subplots(len(keys), 1, figsize=(8, 3.2 * len(keys)), squeeze=False)
    for ax, k in zip(axes[:, 0], keys):
        x_label = ''
        for d, name in zip(data, names):
            xs, ys, lab = curve(d, k)
            if not xs:
                print(f'warning: {d["path"]} has no {k!r}', file=sys.stderr)
                continue
            x_label = x_label or lab
            ax.plot(xs, ys, marker='o' if len(xs) < 30 else None, markersize=3,
                    label=f'{name}' if len(data) > 1 else k)
        ax.set_xlabel(x_label)
        ax.set_ylabel(k)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if out:
        d = osp.dirname(osp.abspath(out))
        os.makedirs(d, exist_ok=True)
        fig.savefig(out, dpi=100)
        print(f'wrote {out}')
    plt.close(fig)
    return fig


def cal_train_time(logs: Sequence[str], include_outliers: bool = False) -> List[Dict]:
    """Average seconds per training iteration (the logged ``time``), per epoch and overall.

    Without ``include_outliers`` the first logged line of each epoch (data-loader start-up,
    first-iteration overhead) is left out when the epoch has more than one line.
    """
    results = []
    for path in logs:
        log = load_log(path)
        per_epoch = OrderedDict()
        for r in log['train']:
            if 'time' in r:
                per_epoch.setdefault(r.get('epoch', 1), []).append(float(r['time']))
        if not per_epoch:
            raise ValueError(f'{log["path"]}: no training line with a "time" key')
        means = OrderedDict()
        for ep, ts in per_epoch.items():
            if not include_outliers and len(ts) > 1:
                ts = ts[1:]
            means[ep] = sum(ts) / len(ts)
        vals = list(means.values())
        slow = max(means, key=means.get)
        fast = min(means, key=means.get)
        res = dict(path=log['path'], epochs=len(means), per_epoch=dict(means),
                   slowest_epoch=slow, slowest_time=means[slow], fastest_epoch=fast,
                   fastest_time=means[fast], std_over_epochs=statistics.pstdev(vals),
                   average_time=sum(vals) / len(vals))
        results.append(res)
        print(f'-----Analyze train time of {log["path"]}-----')
        print(f'slowest epoch {slow}, average time is {means[slow]:.4f} s/iter')
        print(f'fastest epoch {fast}, average time is {means[fast]:.4f} s/iter')
        print(f'time std over epochs is {res["std_over_epochs"]:.4f}')
        print(f'average iter time: {res["average_time"]:.4f} s/iter')
    return results


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Analyze mmengine JSON logs')
    sub = p.add_subparsers(dest='task', required=True)
    pc = sub.add_parser('plot_curve', help='plot curves of some keys')
    pc.add_argument('json_logs', nargs='+', help='JSON logs (or work dirs)')
    pc.add_argument('--keys', nargs='+', default=['loss'], help='keys to plot')
    pc.add_argument('--legend', nargs='+', default=None, help='one name per log')
    pc.add_argument('--title', default=None)
    pc.add_argument('--out', default=None, help='output image (PNG, PDF, ...)')
    ct = sub.add_parser('cal_train_time', help='average training time per iteration')
    ct.add_argument('json_logs', nargs='+', help='JSON logs (or work dirs)')
    ct.add_argument('--include-outliers', action='store_true',
                    help="keep each epoch's first logged line")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        if args.task == 'plot_curve':
            if not args.out:
                print('note: no --out given, nothing is written', file=sys.stderr)
            return plot_curve(args.json_logs, args.keys, args.out, args.legend, args.title)
        return cal_train_time(args.json_logs, args.include_outliers)
    except (FileNotFoundError, ValueError, KeyError) as err:
        msg = err.args[0] if isinstance(err, KeyError) and err.args else err
        raise SystemExit(f'error: {msg}')


if __name__ == '__main__':
    main()
