"""The standard tools end to end: train writes a checkpoint, --resume continues it, test
evaluates."""
import glob
import json
import math
import os.path as osp
import pickle
import re

from tool_runner import run_tool


def _train_epochs(log):
    """Epoch numbers of the training iteration lines in a log."""
    return sorted({int(e) for e in re.findall(r'Epoch\(train\)\s*\[(\d+)\]', log)})


def test_train_resume_test_round_trip(trained_tiny_synthetic):
    root, cfg, work, log = trained_tiny_synthetic
    assert osp.isfile(work / 'epoch_1.pth'), log[-3000:]
    assert _train_epochs(log) == [1]
    assert re.search(r'loss: [0-9.]+', log)
    assert 'recs/RECS_Sum' in log  # validation ran after the epoch
    # the contour budget summary, once per stage at the end of the run (synthetic masks fit)
    assert len(re.findall(r'contour budget \(head\.max_len=\d+\), coarse: 0 of \d+ targets '
                          'reduced', log)) == 1, log[-3000:]
    assert len(re.findall(r'contour budget .*, fine: ', log)) == 1
    assert (root / 'data' / 'meta.json').is_file()  # generated on first use

    # bare --resume: continue from the latest checkpoint, running only the new epoch
    log = run_tool(['tools/train.py', str(cfg), '--work-dir', str(work), '--resume',
                    '--cfg-options', 'train_cfg.max_epochs=2'], cwd=root)
    assert 'resumed' in log.lower(), log[-3000:]
    assert _train_epochs(log) == [2]
    assert osp.isfile(work / 'epoch_2.pth')

    # test: metrics, --out pickle, --show-dir drawings
    out = root / 'preds.pkl'
    log = run_tool(['tools/test.py', str(cfg), str(work / 'epoch_2.pth'), '--work-dir',
                    str(work), '--out', str(out), '--show-dir', 'vis'], cwd=root)
    sums = re.findall(r'recs/RECS_Sum: ([0-9.]+)', log)
    assert sums and 0.0 <= float(sums[-1]) <= 400.0, log[-3000:]
    assert 'protocol' in log  # the metric names its scoring protocol
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 6
    assert glob.glob(str(work / '*' / 'vis' / '*.png')), 'no --show-dir drawing written'


def test_two_process_cpu_training_through_dist_train_sh(tiny_synthetic_config):
    """dist_train.sh runs 2 processes over torch.distributed (gloo on CPU) and saves a
    checkpoint."""
    root, cfg = tiny_synthetic_config
    work = root / 'work_dist'
    log = run_tool(['tools/dist_train.sh', str(cfg), '2', '--work-dir', str(work),
                    '--cfg-options', 'default_hooks.logger.interval=1'], cwd=root,
                   env=dict(PORT='29533'))
    assert 'Distributed launcher: pytorch' in log and 'Distributed training: True' in log, \
        log[-3000:]
    assert "'backend': 'gloo'" in log
    # each of the 2 ranks runs half the epoch: ceil(samples / (2 ranks * batch 4)) iterations,
    # one sample per expression (the config's sample_one_expression=False)
    with open(root / 'data' / 'phrase_txts' / 'train.json') as f:
        num_samples = sum(len(r['sentences']) for r in json.load(f).values())
    iters = {int(m) for m in re.findall(r'Epoch\(train\)\s*\[1\]\[\s*\d+/(\d+)\]', log)}
    assert iters == {math.ceil(num_samples / 8)}, (iters, num_samples)
    assert osp.isfile(work / 'epoch_1.pth')


def test_training_through_the_tools_lowers_the_loss(trained_tiny_synthetic):
    """The README main-job config learns: over its first epoch (per-iteration log lines) the
    total loss falls well below where it started."""
    log = trained_tiny_synthetic[3]
    losses = [float(v) for v in re.findall(r'Epoch\(train\).*?\sloss: ([0-9.]+)', log)]
    assert len(losses) >= 8, log[-3000:]
    # from random initialisation (iteration 1) to the end of the epoch (mean of the last 3)
    assert sum(losses[-3:]) / 3 < 0.6 * losses[0], losses
