"""Time scene inference on a large GeoTIFF: wall time, peak RSS and bytes read from the file.

    python tools/analysis_tools/benchmark_scene.py configs/recs4r_tiny_synthetic.py \
        [--checkpoint CKPT] [--size 20000] [--scene SCENE.tif] [--work-dir /tmp] [--keep] \
        [--expression "..."] [--threads 2] [--vis out.png] [--out bench.json]

Without ``--scene`` it first writes a ``size`` x ``size`` 3-band uint8 GeoTIFF (UTM 33N, 0.5 m
pixels, 512 px deflate tiles, internal overviews 2..128) of a procedural landscape with
buildings and storage tanks into a temporary folder of ``--work-dir`` (deleted afterwards unless
``--keep``; it needs about 1.6 GB per 20000^2). The measurement then runs in a fresh process,
as ``tools/infer_scene.py`` would: import, model build (+ checkpoint), then the scene phase
(open, stretch statistics, overview, the fine passes, GeoJSON written). Reported:

  * wall time of each phase and of the whole process up to the GeoJSON written
    (``process_s``; ``subprocess_s`` also holds the untimed byte-counting rerun);
  * peak resident set size (VmHWM) after the model is built and at the end;
  * bytes read from the scene file, counted by a ``rasterio.open`` opener in a second, untimed
    run of the scene phase (the file was just written, so the timed run may read it from the
    page cache: a cold disk adds its latency, not bytes).

Without ``--checkpoint`` the model has random weights (say so when quoting); every decoding is
then forced to the config's ``num_vertices`` (``benchmark.force_length``) so that it costs what
a trained model's full contour costs. Figures: docs/scene_inference.md.
"""
import argparse
import io
import json
import os
import os.path as osp
import resource
import shutil
import subprocess
import sys
import tempfile
import time

T_START = time.perf_counter()  # the measured process starts its clock here
HERE = osp.dirname(osp.abspath(__file__))
EXPRESSION = 'the large white storage tank next to the road'


class CountingOpener:
    """A ``rasterio.open`` opener that counts the bytes GDAL reads from the file."""

    def __init__(self):
        self.bytes = 0

    def __call__(self, path, mode='rb'):
        raw, counter = open(path, mode), self

        class Counted(io.RawIOBase):
            def readable(self):
                return True

            def seekable(self):
                return True

            def seek(self, *args):
                return raw.seek(*args)

            def tell(self):
                return raw.tell()

            def readinto(self, buf):
                n = raw.readinto(buf)
                counter.bytes += n or 0
                return n

            def close(self):
                raw.close()
                super().close()

        return Counted()


def _peak_rss_mb() -> float:
    """This process image's peak RSS: VmHWM (``ru_maxrss`` would carry the generating parent's
    peak over the fork and exec)."""
    try:
        with open('/proc/self/status') as f:
            return int(next(ln for ln in f if ln.startswith('VmHWM')).split()[1]) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_scene(path: str, size: int, seed: int = 0, block: int = 512) -> dict:
    """A procedural ``size``^2 3-band landscape GeoTIFF written strip by strip (bounded
    memory): smooth fields, noise, rectangular buildings and round tanks."""
    import numpy as np
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.transform import from_origin
    from rasterio.windows import Window
    rng = np.random.default_rng(seed)
    n = max(4, size * size // 4_000_000)
    buildings = np.stack([rng.integers(0, size - 200, n), rng.integers(0, size - 200, n),
                          rng.integers(20, 200, n), rng.integers(20, 200, n)], 1)
    tanks = np.stack([rng.integers(100, size - 100, n), rng.integers(100, size - 100, n),
                      rng.integers(10, 60, n)], 1)
    t0 = time.perf_counter()
    profile = dict(driver='GTiff', width=size, height=size, count=3, dtype='uint8',
                   crs='EPSG:32633', transform=from_origin(500000.0, 4100000.0, 0.5, 0.5),
                   tiled=True, blockxsize=block, blockysize=block, compress='deflate',
                   predictor=2, BIGTIFF='IF_SAFER')
    x = np.arange(size, dtype=np.float32)[None]
    with rasterio.open(path, 'w', **profile) as ds:
        for r0 in range(0, size, block):
            h = min(block, size - r0)
            y = np.arange(r0, r0 + h, dtype=np.float32)[:, None]
            base = 100 + 30 * np.sin(x / 730) * np.cos(y / 910) + 15 * np.sin((x + y) / 157)
            base = base + rng.integers(-6, 7, (h, size)).astype(np.float32)
            strip = np.stack([base, base * 0.95 + 5, base * 0.8 + 12])
            for c, r, w, hh in buildings:
                if r < r0 + h and r + hh > r0:
                    strip[:, max(r, r0) - r0:min(r + hh, r0 + h) - r0, c:c + w] = 205
            for cx, cy, rad in tanks:
                if cy - rad < r0 + h and cy + rad > r0:
                    ys = slice(max(cy - rad, r0) - r0, min(cy + rad, r0 + h) - r0)
                    yy = y[ys] - cy
                    xs = slice(cx - rad, cx + rad)
                    disk = (x[:, xs] - cx) ** 2 + yy ** 2 <= rad ** 2
                    strip[:, ys, xs] = np.where(disk, 235, strip[:, ys, xs])
            ds.write(np.clip(strip, 0, 255).astype(np.uint8), window=Window(0, r0, size, h))
        t_write = time.perf_counter() - t0
        ds.build_overviews([f for f in (2, 4, 8, 16, 32, 64, 128) if size // f >= 64],
                           Resampling.average)
    return dict(write_s=round(t_write, 1), overviews_s=round(time.perf_counter() - t0 - t_write, 1),
                file_bytes=os.path.getsize(path))


def measure(args) -> dict:
    """The measured process: import, build the model, run one scene (printed as JSON)."""
    t0 = T_START
    import torch
    torch.set_num_threads(args.threads)
    from recs4r_mm.apis import SceneInferencer, SceneRaster
    from recs4r_mm.apis.geojson import feature_collection, write_json_atomic
    t_import = time.perf_counter()
    torch.manual_seed(0)  # the same random weights (so the same windows) in every run
    infer = SceneInferencer(args.config, args.checkpoint, device='cpu')
    if args.checkpoint is None:
        sys.path.insert(0, HERE)
        from benchmark import force_length
        force_length(infer.model)
    t_model = time.perf_counter()
    rss_model = _peak_rss_mb()
    out = tempfile.mkdtemp(prefix='recs4r_bench_out_')
    with SceneRaster(args.measure) as scene:
        preds = infer(scene, [args.expression])
        write_json_atomic(feature_collection(preds, scene), osp.join(out, 'scene.geojson'))
        t_scene = time.perf_counter()
    shutil.rmtree(out)
    rss_scene = _peak_rss_mb()
    counter = CountingOpener()  # the same again, to count the bytes read (not timed)
    with SceneRaster(args.measure, opener=counter) as scene:
        infer(scene, [args.expression])
        file_read = counter.bytes
        if args.vis:
            import mmcv

            from recs4r_mm.visualization import draw_scene_figure
            figure = draw_scene_figure(lambda box, hw: scene.read(box, hw, 'average'),
                                       (0, 0, scene.width, scene.height), preds)
            mmcv.imwrite(figure[..., ::-1], args.vis)
    p = preds[0]
    return dict(
        import_s=round(t_import - t0, 2), model_s=round(t_model - t_import, 2),
        scene_s=round(t_scene - t_model, 2), process_s=round(t_scene - t0, 2),
        peak_rss_after_model_mb=round(rss_model, 1), peak_rss_mb=round(rss_scene, 1),
        file_bytes_read=file_read, passes=p['passes'], windows=p['windows'],
        score=round(p['score'], 4), threads=args.threads,
        weights=args.checkpoint or 'random, every decoding forced to num_vertices')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='scene inference benchmark (CPU)')
    p.add_argument('config')
    p.add_argument('--checkpoint', help='default: random weights')
    p.add_argument('--size', type=int, default=20000, help='side of the generated scene')
    p.add_argument('--scene', help='an existing GeoTIFF instead of a generated one')
    p.add_argument('--work-dir', default=tempfile.gettempdir(), help='where to generate')
    p.add_argument('--keep', action='store_true', help='keep the generated scene')
    p.add_argument('--expression', default=EXPRESSION)
    p.add_argument('--threads', type=int, default=2, help='torch intra-op threads')
    p.add_argument('--vis', help='draw the result over a 1024 px overview into this PNG '
                   '(tools/infer_scene.py --vis)')
    p.add_argument('--out', help='write the figures as JSON here')
    p.add_argument('--measure', help=argparse.SUPPRESS)  # internal: the measured process
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.measure:
        print('RESULT ' + json.dumps(measure(args)))
        return
    if args.checkpoint and not osp.isfile(args.checkpoint):
        sys.exit(f'error: checkpoint {args.checkpoint} does not exist')
    folder, gen = None, {}
    scene = args.scene
    try:
        if scene is None:
            folder = tempfile.mkdtemp(prefix='recs4r_scene_', dir=args.work_dir)
            scene = osp.join(folder, f'scene_{args.size}.tif')
            print(f'writing a {args.size} x {args.size} GeoTIFF to {scene} ...', flush=True)
            gen = write_scene(scene, args.size)
            print(f'written in {gen["write_s"]} s + overviews {gen["overviews_s"]} s, '
                  f'{gen["file_bytes"] / 2**20:.0f} MiB', flush=True)
        cmd = [sys.executable, osp.abspath(__file__), args.config, '--measure', scene,
               '--threads', str(args.threads), '--expression', args.expression]
        for flag, value in (('--checkpoint', args.checkpoint), ('--vis', args.vis)):
            if value:
                cmd += [flag, value]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith('RESULT ')), None)
        if proc.returncode != 0 or line is None:
            sys.exit(f'error: the measured run failed:\n{(proc.stdout + proc.stderr)[-3000:]}')
        res = dict(json.loads(line[7:]), subprocess_s=round(wall, 2),
                   scene=dict(gen, path=scene, size=args.size if not args.scene else None,
                              file_bytes=os.path.getsize(scene)))
    finally:
        if folder and not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    mb = res['file_bytes_read'] / 2**20
    print(f"one expression, {res['threads']} threads, weights: {res['weights']}\n"
          f"  wall {res['process_s']} s (process start to GeoJSON written; import "
          f"{res['import_s']} s, model {res['model_s']} s, scene {res['scene_s']} s)\n"
          f"  peak RSS {res['peak_rss_mb']} MB ({res['peak_rss_after_model_mb']} MB after "
          f"the model was built)\n"
          f"  read from the file {mb:.2f} MiB of {res['scene']['file_bytes'] / 2**20:.0f} MiB; "
          f"{res['passes']} fine pass(es)")
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(res, f, indent=1)


if __name__ == '__main__':
    main()
