"""tools/analysis_tools/analyze_logs.py on an mmengine-style scalars.json written here."""
import json
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def write_log(work_dir, iters_per_epoch=4, epochs=3, interval=2):
    """work_dir/<ts>/vis_data/scalars.json as mmengine writes it (epoch-based loop)."""
    vis = work_dir / '20260101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    lines, times = [], {}
    for ep in range(1, epochs + 1):
        for it in range(interval, iters_per_epoch + 1, interval):
            step = (ep - 1) * iters_per_epoch + it
            t = 0.5 if it == interval else 0.1 * ep  # first line of an epoch is slow
            times.setdefault(ep, []).append(t)
            lines.append(dict(lr=1e-3, data_time=0.01, loss=2.0 / step, loss_cls=1.0 / step,
                              time=t, epoch=ep, iter=step, step=step))
        lines.append({'recs/RECS_Sum': 100.0 + 10 * ep, 'recs/RIS_mIoU': 20.0 + ep,
                      'data_time': 0.0, 'time': 0.05, 'step': ep})
    path = vis / 'scalars.json'
    path.write_text('\n'.join(json.dumps(r) for r in lines) + '\n')
    return path, times


def test_plot_curve_writes_png(analyze_logs_tool, tmp_path):
    log, _ = write_log(tmp_path / 'run1')
    data = analyze_logs_tool.load_log(str(log))
    assert len(data['train']) == 6 and len(data['val']) == 3
    xs, ys, label = analyze_logs_tool.curve(data, 'loss')
    assert label == 'iteration' and xs == [2, 4, 6, 8, 10, 12] and ys[0] == 1.0
    xs, ys, label = analyze_logs_tool.curve(data, 'recs/RECS_Sum')
    assert label == 'epoch' and xs == [1, 2, 3] and ys == [110.0, 120.0, 130.0]
    out = tmp_path / 'plots' / 'curve.png'
    analyze_logs_tool.main(['plot_curve', str(log), '--keys', 'loss', 'recs/RECS_Sum',
                            '--out', str(out)])
    assert out.read_bytes()[:8] == PNG_MAGIC and out.stat().st_size > 5000


def test_plot_curve_cli_two_logs_and_work_dir(tmp_path):
    log1, _ = write_log(tmp_path / 'a')
    write_log(tmp_path / 'b', epochs=2)
    out = tmp_path / 'two.png'
    # the second log is given as its work dir: the newest vis_data/scalars.json is used
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'analysis_tools', 'analyze_logs.py'),
         'plot_curve', str(log1), str(tmp_path / 'b'), '--keys', 'loss', 'recs/RIS_mIoU',
         '--legend', 'a', 'b', '--title', 'runs', '--out', str(out)],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes()[:8] == PNG_MAGIC
    bad = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'analysis_tools', 'analyze_logs.py'),
         'plot_curve', str(log1), '--keys', 'no_such_key', '--out', str(tmp_path / 'x.png')],
        capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and 'no_such_key' in bad.stderr and 'loss' in bad.stderr
    assert not (tmp_path / 'x.png').exists()


def test_cal_train_time(analyze_logs_tool, tmp_path, capsys):
    log, times = write_log(tmp_path / 'run', iters_per_epoch=6)
    res, = analyze_logs_tool.cal_train_time([str(log)])
    # the first logged line of each epoch is an outlier and left out
    expect = {ep: sum(t[1:]) / len(t[1:]) for ep, t in times.items()}
    assert res['epochs'] == 3
    assert res['per_epoch'] == pytest.approx(expect)
    assert res['slowest_epoch'] == 3 and res['fastest_epoch'] == 1
    assert res['average_time'] == pytest.approx(sum(expect.values()) / 3)
    assert 'average iter time' in capsys.readouterr().out
    res_all, = analyze_logs_tool.cal_train_time([str(log)], include_outliers=True)
    assert res_all['per_epoch'][1] == pytest.approx(sum(times[1]) / len(times[1]))


def test_bad_log_is_named(analyze_logs_tool, tmp_path):
    bad = tmp_path / 'bad.json'
    bad.write_text('{"loss": 1.0, "step": 1}\nnot json\n')
    with pytest.raises(ValueError, match=r'bad\.json:2'):
        analyze_logs_tool.load_log(str(bad))
    with pytest.raises(FileNotFoundError, match='missing'):
        analyze_logs_tool.load_log(str(tmp_path / 'missing.json'))
