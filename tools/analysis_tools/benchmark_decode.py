"""Decoding speed of the LUCDP head with and without the key/value cache.

For each vertex count N the head greedily decodes exactly N vertices + END (``min_vertices=N``,
``max_len=N+1``) over a random memory the size of the coarse stage's (visual tokens of a
stride-16 map + text tokens), and reports the time per decoded vertex. The uncached path
recomputes the whole prefix at every step (PolyFormer's public decoder), so its time per vertex
grows with N; the cached one stays flat.

    python tools/analysis_tools/benchmark_decode.py configs/recs4r_swin-t_refdior.py \
        --vertices 16 32 64 128 --repeat 5 [--device cuda] [--threads 1]

Optionally ``--model-latency`` also times a whole image (coarse-only and coarse + fine) with a
random same-size BERT, at ``--shape``.
"""
import argparse
import math
import os.path as osp
import statistics
import sys
import time
from typing import Dict, List, Optional, Sequence

import torch

TEXT_TOKENS = 20  # the text part of the random memory (the configs' max_tokens)


def _sync(device) -> None:
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize()


def build_head(cfg, max_vertices: int, device='cpu'):
    """LUCDP head of ``cfg.model.head`` with room for ``max_vertices`` (random weights)."""
    from recs4r_mm.registry import MODELS
    head_cfg = cfg.model.head.to_dict() if hasattr(cfg.model.head, 'to_dict') else dict(
        cfg.model.head)
    head_cfg['max_len'] = max(int(head_cfg.get('max_len', 0)), max_vertices + 4)
    head = MODELS.build(head_cfg).to(device).eval()
    return head


def time_decode(head, memory: torch.Tensor, n: int, use_cache: bool, repeat: int,
                memory_hw=None) -> Dict:
    """Median seconds of one decode of ``n`` vertices (+ END), and per vertex; ``memory_hw``
    is the (h, w) grid of the visual tokens at the start of ``memory``."""
    n_pre = len(head.forced_prefix)
    kwargs = dict(use_cache=use_cache, max_len=n_pre + n + 1, min_vertices=n,
                  memory_hw=memory_hw)
    out = head.predict(memory, **kwargs)  # warm-up
    n_coord = int((out['tokens'][0] == 0).sum())
    times = []
    for _ in range(repeat):
        _sync(memory.device)
        t = time.perf_counter()
        head.predict(memory, **kwargs)
        _sync(memory.device)
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    return dict(seconds=med, per_vertex_ms=med / n_coord * 1e3, vertices=n_coord)


def benchmark(cfg, vertices: Sequence[int] = (16, 32, 64, 128), memory_tokens: int = 1044,
              batch: int = 1, repeat: int = 5, device: str = 'cpu',
              skip_uncached_above: Optional[int] = None) -> List[Dict]:
    torch.manual_seed(0)
    head = build_head(cfg, max(vertices), device)
    memory = torch.randn(batch, memory_tokens, head.embed_dims, device=device)
    side = int(math.isqrt(max(memory_tokens - TEXT_TOKENS, 1)))
    hw = (side, side)  # a square visual grid first, the text tokens after it
    rows = []
    with torch.no_grad():
        for n in vertices:
            row = dict(vertices=n, cached=time_decode(head, memory, n, True, repeat, hw))
            if skip_uncached_above is None or n <= skip_uncached_above:
                row['uncached'] = time_decode(head, memory, n, False, repeat, hw)
            rows.append(row)
    return rows


def format_rows(rows: List[Dict]) -> str:
    lines = ['| vertices | cached ms/vertex | uncached ms/vertex | speed-up | cached total ms |',
             '|---|---|---|---|---|']
    for r in rows:
        c = r['cached']
        u = r.get('uncached')
        lines.append(f"| {r['vertices']} | {c['per_vertex_ms']:.2f} | "
                     f"{u['per_vertex_ms']:.2f} | {u['seconds'] / c['seconds']:.1f}x | "
                     if u else f"| {r['vertices']} | {c['per_vertex_ms']:.2f} | - | - | ")
        lines[-1] += f"{c['seconds'] * 1e3:.1f} |"
    return '\n'.join(lines)


def model_latency(cfg, shape=(512, 512), repeat: int = 3, device='cpu') -> Dict:
    """Seconds per image (num_vertices decoded per stage), coarse only vs coarse + fine,
    with a random same-size BERT."""
    import tempfile

    from get_flops import build_model  # same folder
    with tempfile.TemporaryDirectory() as tmp:
        model = build_model(cfg, random_text_encoder=True, workdir=tmp).to(device)
    # random weights would stop at 3 vertices: decode the configured num_vertices exactly
    n = model.coder.num_vertices
    for head in {model.coarse_modules.head, model.fine_modules.head}:
        head.test_cfg.update(min_vertices=n, max_len=len(head.forced_prefix) + n + 1)
    img = torch.randn(1, 3, *shape, device=device)
    text = ['the large storage tank on the left of the image']
    res = {}
    modes = (('coarse_only', False), ('coarse_fine', True)) if model.two_stage else (
        ('coarse_only', False), )
    with torch.no_grad():
        for name, two in modes:
            model.two_stage = two
            model.decode(img, text)  # warm-up
            times = []
            for _ in range(repeat):
                _sync(device)
                t = time.perf_counter()
                model.decode(img, text)
                _sync(device)
                times.append(time.perf_counter() - t)
            res[name] = statistics.median(times)
    return res


def main(argv=None):
    from mmengine.config import Config
    p = argparse.ArgumentParser(description='LUCDP decoding speed, cached vs uncached')
    p.add_argument('config', nargs='?', default=osp.join(
        osp.dirname(__file__), '..', '..', 'configs', 'recs4r_swin-t_refdior.py'))
    p.add_argument('--vertices', type=int, nargs='+', default=[16, 32, 64, 128])
    p.add_argument('--memory-tokens', type=int, default=32 * 32 + 20,
                   help='visual + text tokens (512^2 at stride 16 + 20 text tokens)')
    p.add_argument('--batch', type=int, default=1)
    p.add_argument('--repeat', type=int, default=5)
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--model-latency', action='store_true')
    p.add_argument('--shape', type=int, nargs=2, default=[512, 512])
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from get_flops import import_project
    import_project()
    cfg = Config.fromfile(args.config)
    print(f'device={args.device} threads={torch.get_num_threads()} batch={args.batch} '
          f'memory_tokens={args.memory_tokens} head: d={cfg.model.head.embed_dims} '
          f'layers={cfg.model.head.num_layers}')
    rows = benchmark(cfg, args.vertices, args.memory_tokens, args.batch, args.repeat,
                     args.device)
    print(format_rows(rows))
    if args.model_latency:
        lat = model_latency(cfg, tuple(args.shape), device=args.device)
        print(f'latency per image at {args.shape[0]}x{args.shape[1]}: ' + ', '.join(
            f'{k} {v:.2f} s' for k, v in lat.items()))
    return rows


if __name__ == '__main__':
    sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))
    main()
