"""Speed and memory of a RECS4R config: inference, training steps, and LUCDP decoding.

No dataset and no download are needed. Inputs are generated: a random image and a fixed
referring expression for inference, plus a random polygon mask as GT for training, all going
through the model's own data preprocessor (``model.test_step`` / ``model.train_step``).
Pretrained backbone weights are never loaded (``init_cfg`` of type Pretrained is dropped), and
when the config names a hub BERT that is not available offline the text encoder is a
same-size BERT with random weights (as in ``get_flops.py``).

    python tools/analysis_tools/benchmark.py configs/recs4r_swin-t_refdior.py \
        [--checkpoint CKPT] [--device cpu|cuda] [--batch-size 1] [--iters 5] \
        [--num-vertices 16 32 64 128] [--shape 512 512] [--original-shape 800 800] \
        [--threads N] [--plain-attention] [--out bench.json]

Reported:
  * inference: ms/image and images/s of ``model.test_step`` (preprocess, coarse [+ fine]
    decoding, Rect/Fill post-processing at the input size);
  * training: ms/image and images/s of ``model.train_step`` (loss, backward, optimizer step
    with the config's ``optim_wrapper``);
  * peak memory of each phase: ``torch.cuda.max_memory_allocated`` on CUDA, the process's peak
    resident set size (``resource.getrusage``; reset between phases through
    ``/proc/self/clear_refs`` where Linux allows it) on CPU;
  * LUCDP decoding time per vertex with and without the key/value cache for each
    ``--num-vertices``, over the memory of the model's own coarse pass, and whether both paths
    decode the same sequence.

By default every decoding (in the inference phase too) is forced to emit exactly
``sequence_coder.num_vertices`` vertices + END per stage: a model with random weights would
otherwise stop after 3 vertices. ``--natural-length`` lets a trained checkpoint stop where it
wants. ``--plain-attention`` times the attention layers' plain matmul/softmax path instead of
the fused ``scaled_dot_product_attention`` (``MultiheadAttention.fused``), for comparison. For
a fine stage that crops the image as loaded (the shared recipe), each sample carries a random
original of ``--original-shape`` (default: the input's), the input being its resize.
"""
import argparse
import json
import math
import os
import os.path as osp
import resource
import statistics
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

HERE = osp.dirname(osp.abspath(__file__))
EXPRESSION = 'the large storage tank on the left of the image next to the road'


def _tools():
    """The sibling analysis tools (get_flops, benchmark_decode) as modules."""
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    import benchmark_decode
    import get_flops
    return get_flops, benchmark_decode


def _sync(device) -> None:
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize()


# ---------------------------------------------------------------------------------- memory
def reset_peak_memory(device) -> bool:
    """Start a new peak-memory window; False if only the process-wide peak is available."""
    if torch.device(device).type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
        return True
    try:  # Linux: '5' resets the resident-set high-water mark (VmHWM / ru_maxrss)
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def current_memory_mb(device) -> float:
    """Memory in use now (MiB): CUDA allocated, or the process's resident set size."""
    if torch.device(device).type == 'cuda':
        return torch.cuda.memory_allocated(device) / 2**20
    try:
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20
    except (OSError, ValueError, IndexError):
        return float('nan')


def peak_memory_mb(device) -> float:
    """Peak memory (MiB) since the last :func:`reset_peak_memory`."""
    if torch.device(device).type == 'cuda':
        return torch.cuda.max_memory_allocated(device) / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == 'darwin' else rss / 2**10  # bytes vs KiB


# ---------------------------------------------------------------------------------- model
def text_encoder_available(text_cfg: dict) -> bool:
    """True when the configured BERT can be built without a download."""
    if text_cfg.get('bert_config') is not None:
        return True
    try:
        from transformers import BertConfig
        BertConfig.from_pretrained(text_cfg['name_or_path'], local_files_only=True)
        return True
    except Exception:  # noqa: BLE001 - offline / not cached
        return False


def build_model(cfg, checkpoint: Optional[str] = None, device: str = 'cpu',
                random_text_encoder: Optional[bool] = None, workdir: Optional[str] = None):
    """Build ``cfg.model`` without pretrained downloads; load ``checkpoint`` if given.

    Returns:
        tuple: (model, used_random_text_encoder)
    """
    get_flops, _ = _tools()
    get_flops.import_project()
    from recs4r_mm.registry import MODELS
    model_cfg = cfg.model.to_dict() if hasattr(cfg.model, 'to_dict') else dict(cfg.model)
    get_flops._strip_pretrained(model_cfg)
    text_cfg = dict(model_cfg['text_encoder'])
    if random_text_encoder is None:
        random_text_encoder = not text_encoder_available(text_cfg)
    random_text_encoder = bool(random_text_encoder and text_cfg.get('bert_config') is None)
    if random_text_encoder:
        text_cfg = get_flops.random_bert_cfg(text_cfg, workdir or tempfile.mkdtemp())
    model_cfg['text_encoder'] = text_cfg
    model = MODELS.build(model_cfg)
    if checkpoint:
        from mmengine.runner import load_checkpoint
        try:
            load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
        except RuntimeError as err:
            lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
            raise RuntimeError(f'checkpoint {checkpoint} does not fit the config: '
                               f'{" ".join(lines[:2])[:400]}') from None
    else:
        import logging

        from mmengine.logging import MMLogger
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel(logging.WARNING)  # init_weights logs every parameter at INFO
        try:
            model.init_weights()
        finally:
            logger.setLevel(level)
    return model.to(device), random_text_encoder


def force_length(model, num_vertices: Optional[int] = None) -> int:
    """Make every stage decode exactly ``num_vertices`` (default: the model's) + END."""
    n = int(num_vertices or model.coder.num_vertices)
    heads = [model.head] + ([model.fine_head] if hasattr(model, 'fine_head') else [])
    n_pre = max(len(h.forced_prefix) for h in heads)
    cap = min(h.pos_embed.num_embeddings - 1 for h in heads)
    if n_pre + n + 1 > cap:
        raise ValueError(f'{n} vertices need head.max_len >= {n_pre + n + 1} (is {cap})')
    for h in heads:
        h.test_cfg.update(min_vertices=n, max_len=n_pre + n + 1)
    return n


# ---------------------------------------------------------------------------------- inputs
def random_polygon_mask(hw: Sequence[int], rng: np.random.RandomState,
                        num_points: int = 12) -> np.ndarray:
    """A random star-shaped polygon filled into an (H, W) bool mask (never empty)."""
    import cv2
    h, w = int(hw[0]), int(hw[1])
    r_max = 0.35 * min(h, w)
    r = rng.uniform(0.4, 1.0, num_points) * rng.uniform(0.3, 1.0) * r_max + 1.5
    ang = np.sort(rng.uniform(0, 2 * np.pi, num_points))
    cx = rng.uniform(r.max(), w - r.max()) if w > 2 * r.max() else w / 2
    cy = rng.uniform(r.max(), h - r.max()) if h > 2 * r.max() else h / 2
    pts = np.stack([cx + r * np.cos(ang), cy + r * np.sin(ang)], 1)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
    if not mask.any():
        mask[h // 4:h // 2, w // 4:w // 2] = 1
    return mask.astype(bool)


def make_batch(batch_size: int, shape: Sequence[int], text: str = EXPRESSION,
               with_gt: bool = False, seed: int = 0, keep_original: bool = False,
               original_shape: Optional[Sequence[int]] = None) -> Dict:
    """A data batch as a dataloader would give it: ``inputs`` (list of uint8 (3, H, W)) and
    ``data_samples`` (DetDataSample with text; with ``with_gt`` a random polygon GT).

    With ``keep_original`` each sample also carries what ``KeepOriginalImage`` +
    ``PackRECSInputs`` add for a fine stage that crops the image as loaded: ``ori_img``
    (3, H', W') of ``original_shape`` (default: the input's), the input being its resize, and
    with ``with_gt`` the GT as loaded (``ori_gt_mask``, ``ori_gt_masks``)."""
    import torch.nn.functional as F
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData
    rng = np.random.RandomState(seed)
    h, w = int(shape[0]), int(shape[1])
    oh, ow = (h, w) if original_shape is None else tuple(int(v) for v in original_shape[:2])
    inputs, samples = [], []
    for i in range(batch_size):
        ori = torch.from_numpy(rng.randint(0, 256, (3, oh, ow), dtype=np.uint8))
        img = ori if (oh, ow) == (h, w) else F.interpolate(
            ori[None].float(), size=(h, w), mode='bilinear', align_corners=False
        )[0].round().clamp(0, 255).to(torch.uint8)
        inputs.append(img)
        s = DetDataSample(metainfo=dict(
            img_id=i, img_path=f'random_{i}.png', ori_shape=(oh, ow), img_shape=(h, w),
            scale_factor=(w / ow, h / oh), text=text, box_only=False))
        if keep_original:
            s.ori_img = ori
            s.set_metainfo(dict(ori_img_scale=(1.0, 1.0)))
        if with_gt:
            ori_m = random_polygon_mask((oh, ow), rng)
            m = ori_m if (oh, ow) == (h, w) else F.interpolate(
                torch.from_numpy(ori_m)[None, None].float(), size=(h, w), mode='nearest'
            )[0, 0].numpy().astype(bool)
            if not m.any():
                m = ori_m[:h, :w] if ori_m[:h, :w].any() else np.ones((h, w), bool)
            ys, xs = np.nonzero(m)
            box = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)
            s.gt_instances = InstanceData(bboxes=torch.from_numpy(box),
                                          masks=BitmapMasks(m[None], h, w),
                                          labels=torch.zeros(1, dtype=torch.long))
            if keep_original:
                s.ori_gt_mask = torch.from_numpy(ori_m[None].astype(np.uint8))
                s.ori_gt_masks = s.ori_gt_mask.clone()
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def keeps_original(model) -> bool:
    """Whether the model's fine stage crops the image as loaded (``ori_img`` needed)."""
    return bool(model.two_stage and model.refine_cfg['crop_source'] == 'original')


# ---------------------------------------------------------------------------------- phases
def _summary(times: List[float], batch_size: int, device, per_phase: bool,
             before_mb: float) -> Dict:
    med = statistics.median(times)
    kind = 'cuda_max_allocated' if torch.device(device).type == 'cuda' else (
        'cpu_peak_rss' if per_phase else 'cpu_peak_rss_process')
    return dict(iters=len(times), seconds_per_iter=times, median_seconds_per_iter=med,
                ms_per_image=med / batch_size * 1e3, images_per_s=batch_size / med,
                peak_memory_mb=peak_memory_mb(device), memory_before_mb=before_mb,
                memory_kind=kind)


def bench_inference(model, batch_size: int, shape, iters: int, warmup: int,
                    device: str, original_shape: Optional[Sequence[int]] = None) -> Dict:
    """Median time of ``model.test_step`` on a random batch."""
    data = make_batch(batch_size, shape, with_gt=False, keep_original=keeps_original(model),
                      original_shape=original_shape)
    model.eval()
    before = current_memory_mb(device)
    per_phase = reset_peak_memory(device)
    times = []
    with torch.no_grad():
        for i in range(warmup + iters):
            _sync(device)
            t = time.perf_counter()
            out = model.test_step(data)
            _sync(device)
            if i >= warmup:
                times.append(time.perf_counter() - t)
    res = _summary(times, batch_size, device, per_phase, before)
    res['vertices_per_image'] = [  # over every instance (a generalized model: 0..K)
        int(sum(len(p['outer']) + sum(len(h) for h in p.get('holes', []))
                for parts in s.pred_instances.polygons for p in parts)) for s in out
    ]
    return res


def bench_train(model, cfg, batch_size: int, shape, iters: int, warmup: int,
                device: str, original_shape: Optional[Sequence[int]] = None) -> Dict:
    """Median time of ``model.train_step`` (loss + backward + optimizer step)."""
    from mmengine.optim import build_optim_wrapper
    data = make_batch(batch_size, shape, with_gt=True, seed=1,
                      keep_original=keeps_original(model), original_shape=original_shape)
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = current_memory_mb(device)
    per_phase = reset_peak_memory(device)
    times, losses = [], []
    for i in range(warmup + iters):
        _sync(device)
        t = time.perf_counter()
        log_vars = model.train_step(data, optim_wrapper)
        _sync(device)
        if i >= warmup:
            times.append(time.perf_counter() - t)
            loss = log_vars['loss']
            losses.append(float(loss.detach() if torch.is_tensor(loss) else loss))
    model.eval()
    res = _summary(times, batch_size, device, per_phase, before)
    res['loss'] = losses
    return res


def decode_head(model, cfg, max_vertices: int, device: str):
    """The model's LUCDP head with room for ``max_vertices`` (extra positions random)."""
    _, benchmark_decode = _tools()
    head = benchmark_decode.build_head(cfg, max_vertices, device)
    src = model.head.state_dict()
    dst = head.state_dict()
    for k, v in src.items():
        if k in dst and dst[k].shape == v.shape:
            dst[k] = v
        elif k == 'pos_embed.weight':
            dst[k][:v.shape[0]] = v
    head.load_state_dict(dst)
    return head.eval()


def coarse_memory(model, batch_size: int, shape, device: str):
    """Memory (B, S, C) and padding mask of the model's coarse pass on a random batch."""
    data = make_batch(batch_size, shape, with_gt=False)
    with torch.no_grad():
        data = model.data_preprocessor(data, False)
        texts = [s.metainfo['text'] for s in data['data_samples']]
        text, text_mask = model.encode_text(texts)
        memory, pad, vis = model.encode_stage(data['inputs'], text, text_mask, fine=False)
    return memory, pad, tuple(vis.shape[-2:])


def same_sequence(head, memory: torch.Tensor, n: int, memory_hw=None) -> Dict:
    """Decode ``n`` vertices with and without the cache; compare tokens and coordinates."""
    kw = dict(max_len=len(head.forced_prefix) + n + 1, min_vertices=n, memory_hw=memory_hw)
    a = head.predict(memory, use_cache=True, **kw)
    b = head.predict(memory, use_cache=False, **kw)
    same_tokens = a['tokens'].shape == b['tokens'].shape and bool(
        (a['tokens'] == b['tokens']).all())
    diff = float((a['coords'] - b['coords']).abs().max()) if same_tokens else math.inf
    return dict(identical=bool(same_tokens and diff <= 1e-4), max_coord_diff=diff,
                tokens_cached=a['tokens'], tokens_uncached=b['tokens'],
                coords_cached=a['coords'], coords_uncached=b['coords'])


def bench_decode(model, cfg, vertices: Sequence[int], shape, repeat: int,
                 device: str) -> Dict:
    """Per-vertex decode time, cached vs uncached, on the coarse memory of one image."""
    _, benchmark_decode = _tools()
    memory, pad, hw = coarse_memory(model, 1, shape, device)
    if pad is not None and bool(pad.any()):
        raise RuntimeError('benchmark: unexpected padding in a single-image memory')
    head = decode_head(model, cfg, max(vertices), device)
    rows = []
    with torch.no_grad():
        for n in vertices:
            cached = benchmark_decode.time_decode(head, memory, n, True, repeat, hw)
            uncached = benchmark_decode.time_decode(head, memory, n, False, repeat, hw)
            check = same_sequence(head, memory, n, hw)
            rows.append(dict(
                vertices=n, cached_ms_per_vertex=cached['per_vertex_ms'],
                uncached_ms_per_vertex=uncached['per_vertex_ms'],
                cached_seconds=cached['seconds'], uncached_seconds=uncached['seconds'],
                speedup=uncached['seconds'] / cached['seconds'],
                identical=check['identical'], max_coord_diff=check['max_coord_diff']))
    return dict(memory_tokens=int(memory.shape[1]), embed_dims=int(memory.shape[2]),
                num_layers=len(head.layers), repeat=repeat, rows=rows)


# ---------------------------------------------------------------------------------- report
def format_report(res: Dict) -> str:
    ori = res.get('original_shape')
    ori = f", fine crops from the {ori[0]}x{ori[1]} image as loaded" if ori else ''
    lines = [
        f"config: {res['config']}",
        f"device: {res['device']}, threads: {res['threads']}, batch: {res['batch_size']}, "
        f"input: {res['shape'][0]}x{res['shape'][1]}, "
        f"{'coarse + fine (' + str(res['fine_size']) + ')' if res['two_stage'] else 'single stage'}"
        f", {res['decode_vertices']} vertices/stage"
        f"{' (forced)' if res['forced_length'] else ''}, {res['attention']} attention{ori}",
        f"weights: {res['checkpoint'] or 'random'}"
        f"{', random same-size BERT' if res['random_text_encoder'] else ''}", '',
        '| phase | iters | ms/image | images/s | peak memory MiB (at start) | memory |',
        '|---|---|---|---|---|---|'
    ]
    for name in ('inference', 'train'):
        r = res.get(name)
        if r:
            lines.append(f"| {name} | {r['iters']} | {r['ms_per_image']:.1f} | "
                         f"{r['images_per_s']:.3f} | {r['peak_memory_mb']:.0f} "
                         f"({r['memory_before_mb']:.0f}) | {r['memory_kind']} |")
    if res.get('inference'):
        lines.append(f"inference decoded {res['inference']['vertices_per_image']} vertices "
                     'per image (final stage, after polygon clean-up)')
    dec = res.get('decode')
    if dec:
        lines += [
            '', f"LUCDP decoding over {dec['memory_tokens']} memory tokens (d={dec['embed_dims']},"
            f" {dec['num_layers']} layers), median of {dec['repeat']}:", '',
            '| vertices | cached ms/vertex | uncached ms/vertex | speed-up | same output |',
            '|---|---|---|---|---|'
        ]
        for r in dec['rows']:
            lines.append(f"| {r['vertices']} | {r['cached_ms_per_vertex']:.2f} | "
                         f"{r['uncached_ms_per_vertex']:.2f} | {r['speedup']:.1f}x | "
                         f"{'yes' if r['identical'] else 'NO'} |")
    return '\n'.join(lines)


def run(cfg, checkpoint: Optional[str] = None, device: str = 'cpu', batch_size: int = 1,
        shape: Sequence[int] = (512, 512), iters: int = 5, warmup: int = 1,
        vertices: Sequence[int] = (16, 32, 64, 128), decode_repeat: int = 3,
        natural_length: bool = False, random_text_encoder: Optional[bool] = None,
        skip_inference: bool = False, skip_train: bool = False,
        skip_decode: bool = False, config_name: str = '',
        plain_attention: bool = False,
        original_shape: Optional[Sequence[int]] = None) -> Dict:
    """Run the selected phases and return the figures (see :func:`format_report`)."""
    from recs4r_mm.models.layers import MultiheadAttention
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        model, rand_bert = build_model(cfg, checkpoint, device, random_text_encoder, tmp)
    for m in model.modules():
        if isinstance(m, MultiheadAttention):
            m.fused = not plain_attention
    n = model.coder.num_vertices if natural_length else force_length(model)
    res = dict(config=config_name, device=device, threads=torch.get_num_threads(),
               batch_size=batch_size, shape=[int(shape[0]), int(shape[1])],
               two_stage=bool(model.two_stage),
               fine_size=int(model.refine_cfg['input_size']) if model.two_stage else None,
               decode_vertices=int(n), forced_length=not natural_length,
               checkpoint=checkpoint, random_text_encoder=rand_bert,
               params_m=sum(p.numel() for p in model.parameters()) / 1e6,
               attention='plain' if plain_attention else 'fused',
               original_shape=None if not keeps_original(model) else
               [int(v) for v in (original_shape or shape)[:2]],
               torch=torch.__version__)
    if not skip_inference:
        res['inference'] = bench_inference(model, batch_size, shape, iters, warmup, device,
                                           original_shape)
    if not skip_decode:
        res['decode'] = bench_decode(model, cfg, vertices, shape, decode_repeat, device)
    if not skip_train:
        res['train'] = bench_train(model, cfg, batch_size, shape, iters, warmup, device,
                                   original_shape)
    return res


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description='RECS4R inference / training / decoding benchmark')
    p.add_argument('config')
    p.add_argument('--checkpoint', default=None, help='weights (default: random)')
    p.add_argument('--device', default='cpu', help='cpu, cuda, cuda:0 ...')
    p.add_argument('--batch-size', type=int, default=1)
    p.add_argument('--shape', type=int, nargs='+', default=[512, 512], help='input H W')
    p.add_argument('--original-shape', type=int, nargs='+', default=None,
                   help='H W of the image as loaded, for a fine stage that crops it '
                   "(refine.crop_source='original'; default: the input's)")
    p.add_argument('--iters', type=int, default=5, help='timed iterations per phase')
    p.add_argument('--warmup', type=int, default=1, help='untimed iterations per phase')
    p.add_argument('--num-vertices', type=int, nargs='+', default=[16, 32, 64, 128],
                   help='vertex counts of the decoding benchmark')
    p.add_argument('--decode-repeat', type=int, default=3,
                   help='timed decodings per vertex count and path (median)')
    p.add_argument('--threads', type=int, default=None, help='torch intra-op threads')
    p.add_argument('--natural-length', action='store_true',
                   help='let inference stop at END instead of decoding num_vertices')
    p.add_argument('--random-text-encoder', action='store_true',
                   help='always use a random same-size BERT (no download)')
    p.add_argument('--plain-attention', action='store_true',
                   help='attention by plain matmul/softmax instead of the fused kernel')
    p.add_argument('--skip-inference', action='store_true')
    p.add_argument('--skip-train', action='store_true')
    p.add_argument('--skip-decode', action='store_true')
    p.add_argument('--out', default=None, help='write the figures to this JSON file')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config keys, e.g. model.refine.input_size=384')
    return p.parse_args(argv)


def main(argv=None) -> Dict:
    from mmengine.config import Config
    args = parse_args(argv)
    if args.batch_size < 1 or args.iters < 1 or args.warmup < 0 or args.decode_repeat < 1:
        raise SystemExit('error: --batch-size, --iters and --decode-repeat must be >= 1, '
                         '--warmup >= 0')
    if min(args.num_vertices) < 3:
        raise SystemExit('error: --num-vertices must be >= 3')
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        raise SystemExit(f'error: --device {args.device} but CUDA is not available')
    if not osp.isfile(args.config):
        raise SystemExit(f'error: config {args.config} does not exist')
    if args.checkpoint and not osp.isfile(args.checkpoint):
        raise SystemExit(f'error: checkpoint {args.checkpoint} does not exist')
    if args.threads:
        torch.set_num_threads(args.threads)
    shape = args.shape * 2 if len(args.shape) == 1 else args.shape[:2]
    original_shape = None if not args.original_shape else (
        args.original_shape * 2 if len(args.original_shape) == 1 else args.original_shape[:2])
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    try:
        res = run(cfg, args.checkpoint, args.device, args.batch_size, shape, args.iters,
                  args.warmup, args.num_vertices, args.decode_repeat, args.natural_length,
                  True if args.random_text_encoder else None, args.skip_inference,
                  args.skip_train, args.skip_decode, config_name=args.config,
                  plain_attention=args.plain_attention, original_shape=original_shape)
    except RuntimeError as err:
        if 'does not fit the config' not in str(err):
            raise
        raise SystemExit(f'error: {err}')
    print(format_report(res))
    if args.out:
        d = osp.dirname(osp.abspath(args.out))
        os.makedirs(d, exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(res, f, indent=1)
        print(f'wrote {args.out}')
    return res


if __name__ == '__main__':
    sys.path.insert(0, osp.abspath(osp.join(HERE, '..', '..')))
    os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
    main()
