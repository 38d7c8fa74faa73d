"""tools/analysis_tools/benchmark.py on the tiny config (CPU, random weights, no dataset)."""
import json
import math
import os.path as osp

import numpy as np
import torch

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TINY_CONFIG = osp.join(REPO, 'configs', '_tiny_', 'recs4r_tiny.py')


def _positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_benchmark_cli_on_tiny_config(benchmark_tool, tmp_path, single_thread, capsys):
    out = tmp_path / 'bench' / 'figures.json'
    res = benchmark_tool.main([
        TINY_CONFIG, '--shape', '64', '64', '--iters', '2', '--warmup', '0',
        '--num-vertices', '4', '8', '--decode-repeat', '1', '--threads', '1',
        '--out', str(out)
    ])
    printed = capsys.readouterr().out
    assert '| inference |' in printed and '| train |' in printed and '| 8 |' in printed
    saved = json.loads(out.read_text())
    assert saved['shape'] == [64, 64] and saved['batch_size'] == 1 and saved['two_stage']
    for phase in ('inference', 'train'):
        r = saved[phase]
        assert r['iters'] == 2 and len(r['seconds_per_iter']) == 2
        for key in ('ms_per_image', 'images_per_s', 'peak_memory_mb', 'memory_before_mb'):
            assert _positive(r[key]), (phase, key, r[key])
        # images/s and ms/image describe the same median time
        assert abs(r['images_per_s'] * r['ms_per_image'] - 1e3) < 1e-6 * 1e3
        assert r['peak_memory_mb'] >= r['memory_before_mb'] * 0.99
    assert all(math.isfinite(v) for v in saved['train']['loss'])
    # the tiny model decodes exactly num_vertices (16) per stage when the length is forced
    assert saved['decode_vertices'] == 16 and saved['inference']['vertices_per_image'] == [16]
    rows = saved['decode']['rows']
    assert [r['vertices'] for r in rows] == [4, 8]
    for r in rows:
        assert _positive(r['cached_ms_per_vertex']) and _positive(r['uncached_ms_per_vertex'])
        assert r['identical'] and r['max_coord_diff'] <= 1e-4
    # the decoding memory is the coarse pass's: 8x8 visual tokens (stride 8) + text tokens
    assert saved['decode']['memory_tokens'] > 64 and saved['decode']['embed_dims'] == 32
    assert res['decode']['rows'][0]['vertices'] == 4


def test_plain_attention_switch_times_the_same_model(benchmark_tool, single_thread):
    """--plain-attention swaps the fused attention kernel for plain ops in every attention
    layer: same weights and inputs, so the first training loss agrees to rounding."""
    args = [TINY_CONFIG, '--shape', '64', '64', '--iters', '1', '--warmup', '0',
            '--skip-inference', '--skip-decode', '--threads', '1']
    fused = benchmark_tool.main(args)
    plain = benchmark_tool.main(args + ['--plain-attention'])
    assert (fused['attention'], plain['attention']) == ('fused', 'plain')
    assert abs(fused['train']['loss'][0] - plain['train']['loss'][0]) < 1e-4
    assert fused['train']['loss'][0] > 0.1


def test_native_crop_configs_get_the_image_as_loaded(benchmark_tool, single_thread):
    """The shared recipe's fine stage crops the image as loaded (refine.crop_source /
    fine_gt = 'original'): the benchmark's batches carry it, at --original-shape."""
    args = [TINY_CONFIG, '--shape', '64', '64', '--original-shape', '192', '160', '--iters', '1',
            '--warmup', '0', '--skip-decode', '--threads', '1', '--batch-size', '2',
            '--cfg-options', 'model.refine.crop_source=original', 'model.refine.fine_gt=original']
    res = benchmark_tool.main(args)
    assert res['original_shape'] == [192, 160]
    assert math.isfinite(res['train']['loss'][0]) and res['train']['loss'][0] > 0
    assert res['inference']['vertices_per_image'] == [16, 16]
    batch = benchmark_tool.make_batch(2, (64, 64), with_gt=True, keep_original=True,
                                      original_shape=(192, 160))
    s = batch['data_samples'][0]
    assert tuple(s.ori_img.shape) == (3, 192, 160)
    assert tuple(batch['inputs'][0].shape) == (3, 64, 64)
    assert s.metainfo['scale_factor'] == (64 / 160, 64 / 192)
    # the GT as loaded and the GT at the input are the same object
    ori_m = s.ori_gt_mask[0].numpy().astype(bool)
    ys, xs = np.nonzero(ori_m)
    box = s.gt_instances.bboxes[0].numpy()
    assert abs(xs.min() * 64 / 160 - box[0]) <= 1.5 and abs(ys.max() * 64 / 192 - box[3]) <= 1.5


def test_cached_and_uncached_decoding_give_the_same_sequence(benchmark_tool, single_thread):
    from mmengine.config import Config

    from recs4r_mm.structures import TOKEN_COORD, TOKEN_END
    cfg = Config.fromfile(TINY_CONFIG)
    model, random_bert = benchmark_tool.build_model(cfg)
    assert not random_bert  # the tiny config's BERT is built from its BertConfig
    model.eval()
    memory, _, hw = benchmark_tool.coarse_memory(model, 2, (64, 64), 'cpu')
    # a second, different memory row: the batch must not decode the same thing twice
    memory[1] = memory[1] + torch.randn_like(memory[1])
    n = 30  # more than the config's max_len (24): the decode head gets room for it
    head = benchmark_tool.decode_head(model, cfg, n, 'cpu')
    assert torch.equal(head.token_embed.weight, model.head.token_embed.weight)
    check = benchmark_tool.same_sequence(head, memory, n, hw)
    a, b = check['tokens_cached'], check['tokens_uncached']
    assert torch.equal(a, b)
    torch.testing.assert_close(check['coords_cached'], check['coords_uncached'],
                               atol=1e-5, rtol=0)
    assert check['identical']
    assert ((a == TOKEN_COORD).sum(1) == n).all() and (a[:, -1] == TOKEN_END).all()
    assert not torch.equal(check['coords_cached'][0], check['coords_cached'][1])


def test_generated_training_batch(benchmark_tool):
    batch = benchmark_tool.make_batch(3, (48, 80), with_gt=True, seed=2)
    assert len(batch['inputs']) == 3
    for img, s in zip(batch['inputs'], batch['data_samples']):
        assert img.shape == (3, 48, 80) and img.dtype == torch.uint8
        m = s.gt_instances.masks.to_ndarray()[0]
        assert m.shape == (48, 80) and m.sum() >= 3
        ys, xs = np.nonzero(m)
        box = s.gt_instances.bboxes[0].tolist()
        assert box == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
        assert s.metainfo['text'] == benchmark_tool.EXPRESSION


def test_benchmark_with_checkpoint_and_mismatch(benchmark_tool, tmp_path, single_thread):
    import pytest
    from mmengine.config import Config
    model, _ = benchmark_tool.build_model(Config.fromfile(TINY_CONFIG))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    good = tmp_path / 'good.pth'
    torch.save(dict(state_dict=state, meta=dict()), good)
    args = [TINY_CONFIG, '--shape', '64', '64', '--iters', '1', '--warmup', '0',
            '--skip-train', '--skip-decode', '--threads', '1']
    res = benchmark_tool.main(args + ['--checkpoint', str(good)])
    assert res['checkpoint'] == str(good) and _positive(res['inference']['ms_per_image'])
    assert 'train' not in res and 'decode' not in res
    state['head.cls_branch.weight'] = torch.zeros(7, 3)
    bad = tmp_path / 'bad.pth'
    torch.save(dict(state_dict=state, meta=dict()), bad)
    with pytest.raises(SystemExit, match='does not fit the config.*head.cls_branch.weight'):
        benchmark_tool.main(args + ['--checkpoint', str(bad)])
    with pytest.raises(SystemExit, match='does not exist'):
        benchmark_tool.main(args + ['--checkpoint', str(tmp_path / 'missing.pth')])
