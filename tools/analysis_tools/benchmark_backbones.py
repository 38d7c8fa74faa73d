"""Benchmark VMamba-T against Swin-T / ConvNeXt-T, and the selective-scan implementations.

1. Backbone forward time (batch 1, ``--size`` square input, eval, no grad; one warm-up run, then
   ``--runs`` timed runs, median reported) of VMamba-T (ours), mmdet's Swin-T and mmpretrain's
   ConvNeXt-T, with ratios to VMamba-T.
2. Selective scan forward+backward on a stage-1-sized problem (``--scan-len`` = 56*56 at 224²,
   4 directions x 96 channels, d_state 1): the pure-PyTorch chunked scan vs the sequential
   reference loop, and the fused kernel when CUDA and one are available.

Usage::

    python tools/analysis_tools/benchmark_backbones.py [--device cpu] [--size 512] [--json out.json]
"""
import argparse
import json
import statistics
import time

import torch


def _sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_call(fn, device, runs=1, warmup=1):
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def build_backbones(names):
    models = {}
    if 'vmamba-t' in names:
        from recs4r_mm.models.backbones import VMamba
        models['vmamba-t'] = VMamba(arch='tiny')
    if 'swin-t' in names:
        from mmdet.models.backbones import SwinTransformer
        models['swin-t'] = SwinTransformer(
            embed_dims=96, depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24), window_size=7,
            drop_path_rate=0.2, out_indices=(0, 1, 2, 3))
    if 'convnext-t' in names:
        from mmpretrain.models.backbones import ConvNeXt
        models['convnext-t'] = ConvNeXt(arch='tiny', out_indices=(0, 1, 2, 3),
                                        drop_path_rate=0.4, gap_before_final_norm=False)
    return models


def bench_backbones(args, device):
    x = torch.randn(1, 3, args.size, args.size, device=device)
    results = {}
    for name, model in build_backbones(args.models).items():
        model.to(device)
        model.eval()  # (some backbones' train() returns None)
        with torch.no_grad():
            sec = time_call(lambda: model(x), device, runs=args.runs)
        params = sum(p.numel() for p in model.parameters()) / 1e6
        results[name] = dict(seconds=sec, params_m=params)
        line = f'{name:>11s}: {sec:7.3f} s / forward'
        if args.backward:
            model.train()

            def fwd_bwd():
                sum(o.float().mean() for o in model(x)).backward()

            results[name]['train_step_seconds'] = time_call(fwd_bwd, device, runs=args.runs)
            line += f', {results[name]["train_step_seconds"]:7.3f} s / forward+backward'
        print(f'{line} @ {args.size}x{args.size} ({params:.1f} M params)', flush=True)
    if 'vmamba-t' in results:
        ref = results['vmamba-t']['seconds']
        for name, r in results.items():
            r['ratio_to_vmamba'] = r['seconds'] / ref
        print('forward time ratios (time / VMamba-T): ' +
              ', '.join(f'{n} {r["ratio_to_vmamba"]:.2f}' for n, r in results.items()))
        if args.backward:
            ref = results['vmamba-t']['train_step_seconds']
            print('forward+backward ratios: ' + ', '.join(
                f'{n} {r["train_step_seconds"] / ref:.2f}' for n, r in results.items()))
    return results


def bench_scan(args, device):
    from recs4r_mm.models.layers.selective_scan import (default_dispatcher, selective_scan,
                                                        selective_scan_ref, selective_scan_torch)
    K, D, N, L = 4, args.scan_channels, 1, args.scan_len
    g = torch.Generator().manual_seed(0)
    base = dict(
        u=torch.randn(1, K * D, L, generator=g), delta=torch.randn(1, K * D, L, generator=g),
        A=-torch.rand(K * D, N, generator=g) - 0.5, B=torch.randn(1, K, N, L, generator=g),
        C=torch.randn(1, K, N, L, generator=g), D=torch.ones(K * D),
        bias=torch.randn(K * D, generator=g) * 0.1)

    def step(fn, inputs, **kw):
        ins = {k: v.to(device).requires_grad_() for k, v in inputs.items()}

        def run():
            y = fn(ins['u'], ins['delta'], ins['A'], ins['B'], ins['C'], ins['D'], ins['bias'],
                   delta_softplus=True, **kw)
            y.square().mean().backward()
            return y

        return run

    results = {}
    results['torch_chunked'] = time_call(step(selective_scan_torch, base), device,
                                         runs=args.runs)
    print(f'scan fwd+bwd (L={L}, {K}x{D} ch, N={N}) pure-PyTorch chunked: '
          f'{results["torch_chunked"]:.3f} s', flush=True)
    if not args.skip_ref:
        # timed on the whole sequence by default; --ref-len N times the first N steps and
        # scales linearly (the reference loop is linear in L)
        ref_len = min(args.ref_len or L, L)
        short = {k: (v[..., :ref_len] if v.dim() >= 3 else v) for k, v in base.items()}
        sec = time_call(step(selective_scan_ref, short), device, runs=1, warmup=0)
        results['sequential_ref_measured'] = dict(seconds=sec, length=ref_len)
        results['sequential_ref'] = sec * L / ref_len
        results['speedup_vs_ref'] = results['sequential_ref'] / results['torch_chunked']
        how = 'measured' if ref_len == L else \
            f'{sec:.2f} s measured on L={ref_len}, x{L / ref_len:g}'
        print(f'scan fwd+bwd sequential reference: {results["sequential_ref"]:.2f} s ({how})'
              f'  -> speed-up x{results["speedup_vs_ref"]:.0f}', flush=True)
    name, fn = default_dispatcher.fused_kernel()
    if device.type == 'cuda' and fn is not None:
        results['fused'] = time_call(step(selective_scan, base, backend='fused'), device,
                                     runs=args.runs)
        results['fused_kernel'] = name
        print(f'scan fwd+bwd fused kernel ({name}): {results["fused"]:.4f} s -> x'
              f'{results["torch_chunked"] / results["fused"]:.1f} vs PyTorch', flush=True)
    elif device.type == 'cuda':
        print('no fused kernel importable (install mamba_ssm or VMamba\'s kernels)')
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--size', type=int, default=512)
    parser.add_argument('--runs', type=int, default=1, help='timed runs after one warm-up')
    parser.add_argument('--threads', type=int, default=None, help='torch intra-op threads')
    parser.add_argument('--models', nargs='+', default=['vmamba-t', 'swin-t', 'convnext-t'])
    parser.add_argument('--scan-len', type=int, default=56 * 56)
    parser.add_argument('--scan-channels', type=int, default=96)
    parser.add_argument('--ref-len', type=int, default=0,
                        help='time the sequential reference on this many steps and scale to '
                        '--scan-len (0: all steps)')
    parser.add_argument('--skip-ref', action='store_true', help='skip the slow reference loop')
    parser.add_argument('--skip-backbones', action='store_true')
    parser.add_argument('--backward', action='store_true',
                        help='also time forward+backward in train mode')
    parser.add_argument('--json', default=None, help='write the figures to this file')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    report = dict(device=str(device), threads=torch.get_num_threads(), torch=torch.__version__)
    print(f'device {device}, {report["threads"]} intra-op threads, torch {torch.__version__}')
    if not args.skip_backbones:
        report['backbones'] = bench_backbones(args, device)
    report['scan'] = bench_scan(args, device)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(report, f, indent=2)


if __name__ == '__main__':
    main()
