"""demo/image_demo.py: one command from an image and a sentence to a PNG and a JSON."""
import json
import os
import subprocess
import sys

from tool_runner import REPO, run_tool


def _demo(args, cwd):
    return subprocess.run([sys.executable, os.path.join(REPO, 'demo', 'image_demo.py')] + args,
                          cwd=cwd, capture_output=True, text=True, timeout=300)


def test_demo_writes_overlay_and_json(trained_tiny_synthetic):
    root, cfg, work, _ = trained_tiny_synthetic
    with open(root / 'data' / 'phrase_txts' / 'test.json') as f:
        rid, rec = next(iter(json.load(f).items()))
    img = str(root / 'data' / 'images' / f'{rid}.png')
    out = root / 'demo_out'
    log = run_tool(['demo/image_demo.py', img, rec['sentences'][0], str(cfg),
                    str(work / 'epoch_1.pth'), '--out-dir', str(out)], cwd=root)
    assert 'box [' in log
    (png, ) = os.listdir(out / 'vis')
    (js, ) = os.listdir(out / 'preds')
    with open(out / 'preds' / js) as f:
        pred = json.load(f)
    assert set(pred) == {'text', 'bbox', 'score', 'polygons', 'oriented_box', 'objects',
                         'no_target'}
    assert len(pred['bbox']) == 4 and pred['polygons']
    # a single-target model: always one object, the top-level keys' (generalized answers:
    # tests/test_apis/test_inferencer_generalized.py)
    assert pred['no_target'] is False
    assert pred['objects'] == [{k: pred[k] for k in ('bbox', 'score', 'polygons',
                                                     'oriented_box')}]
    assert log.count('box [') == 1 and f'"{rec["sentences"][0]}": box [' in log
    assert len(pred['oriented_box']['corners']) == 4 and 'oriented box' in log


def test_demo_bad_inputs_give_one_line_and_nonzero_exit(trained_tiny_synthetic, tmp_path):
    root, cfg, work, _ = trained_tiny_synthetic
    ckpt = str(work / 'epoch_1.pth')
    img = next((root / 'data' / 'images').iterdir())
    cases = {
        'image': [str(tmp_path / 'nope.png'), 'the car', str(cfg), ckpt],
        'expression': [str(img), '  ', str(cfg), ckpt],
        'checkpoint': [str(img), 'the car', str(cfg), str(tmp_path / 'nope.pth')],
    }
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not an image')
    cases['read'] = [str(bad), 'the car', str(cfg), ckpt]
    # a checkpoint whose weights do not fit the config (a coarser coordinate grid)
    other = tmp_path / 'other_grid.py'
    other.write_text(f"_base_ = [{str(cfg)!r}]\nmodel = dict(head=dict(grid_size=8))\n")
    cases['mismatch'] = [str(img), 'the car', str(other), ckpt]
    for what, args in cases.items():
        proc = _demo(args, cwd=root)
        err = proc.stderr.strip().splitlines()
        assert proc.returncode != 0, what
        assert err and err[-1].startswith('error:'), (what, proc.stderr[-2000:])
