"""Refer to objects in a whole raster scene: a GeoTIFF and sentences in, GeoJSON polygons out.

    python tools/infer_scene.py SCENE.tif "the large storage tank left of the road" \
        CONFIG CHECKPOINT --out result.geojson [--wgs84] [--bands 4,3,2] \
        [--stretch auto|none|percentile|minmax] [--window COL ROW W H] [--vis overview.png] \
        [--score-thr 0.5]

EXPRESSION_OR_FILE is one expression, or a text file with one expression per line (blank lines
skipped), decoded in batches. The coarse pass sees an overview of the scene, the fine passes read
native-resolution windows of the file (a pyramid of windows when the overview is much coarser);
the full scene is never read at native resolution. Output: one GeoJSON Feature per expression,
in the raster's CRS (or WGS84 with --wgs84; pixel coordinates for a file without a CRS);
--score-thr drops those whose score is under it, and a generalized model's "no target" answer
gives none (an empty FeatureCollection when nothing is left).
Bad input prints one line starting with ``error:`` and exits with 1; nothing is left at --out.
Details: docs/scene_inference.md.
"""
import argparse
import os.path as osp
import sys
import time


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='RECS4R scene-scale referring -> GeoJSON')
    parser.add_argument('scene', help='raster file (GeoTIFF; PNG/JPEG/TIFF without CRS work too)')
    parser.add_argument('expression', help='a referring expression, or a .txt file of them')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='output GeoJSON file')
    parser.add_argument('--wgs84', action='store_true',
                        help='reproject to WGS84 longitude/latitude (RFC 7946)')
    parser.add_argument('--bands', help='three 1-based bands read as R,G,B, e.g. 4,3,2 or 1,1,1')
    parser.add_argument('--stretch', default='auto',
                        choices=['auto', 'none', 'percentile', 'minmax'],
                        help='to 8 bits: auto = none for uint8, else percentile (default auto)')
    parser.add_argument('--percentiles', type=float, nargs=2, default=(2.0, 98.0),
                        metavar=('LOW', 'HIGH'), help='of --stretch percentile (default 2 98)')
    parser.add_argument('--window', type=int, nargs=4, metavar=('COL', 'ROW', 'WIDTH', 'HEIGHT'),
                        help='search only this region of the scene (pixels)')
    parser.add_argument('--batch-size', type=int, default=8, help='expressions per batch')
    parser.add_argument('--max-passes', type=int, default=8, help='most fine passes')
    parser.add_argument('--score-thr', type=float, default=None,
                        help='drop the features whose score is under this (default: keep all)')
    parser.add_argument('--device', default='cpu', help='cpu, cuda, cuda:0 ...')
    parser.add_argument('--vis', help='also draw the result over an overview into this PNG, '
                        'with a panel per fine window of the first expression')
    parser.add_argument('--vis-size', type=int, default=1024, help='width of --vis')
    return parser.parse_args(argv)


def read_expressions(arg: str):
    """One expression, or the non-blank lines of a text file."""
    from recs4r_mm.apis import SceneError
    if osp.isfile(arg):
        with open(arg, encoding='utf-8') as f:
            texts = [line.strip() for line in f if line.strip()]
        if not texts:
            raise SceneError(f'expression file {arg} holds no expression')
        return texts
    if arg.endswith('.txt') and ' ' not in arg:
        raise SceneError(f'expression file {arg} does not exist')
    if not arg.strip():
        raise SceneError('the referring expression is empty')
    return [arg.strip()]


def parse_bands(text):
    from recs4r_mm.apis import SceneError
    if text is None:
        return None
    try:
        return [int(v) for v in text.replace(' ', '').split(',')]
    except ValueError:
        raise SceneError(f'--bands {text!r}: give three 1-based band numbers, e.g. 4,3,2')


def draw(scene, preds, out_file, size):
    """The overview with the results, and a panel per fine window of the first expression."""
    import mmcv

    from recs4r_mm.visualization import draw_scene_raster
    mmcv.imwrite(draw_scene_raster(scene, preds, size)[..., ::-1], out_file)


def run(args) -> int:
    for path, what in ((args.config, 'config'), (args.checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{what} {path} does not exist')
    import recs4r_mm  # noqa: F401
    from recs4r_mm.apis import SceneInferencer, SceneRaster, geojson
    texts = read_expressions(args.expression)
    geojson.check_writable(args.out)
    if args.vis:
        geojson.check_writable(args.vis)
    t0 = time.time()
    with SceneRaster(args.scene, bands=parse_bands(args.bands), stretch=args.stretch,
                     percentiles=tuple(args.percentiles), window=args.window) as scene:
        if args.wgs84 and scene.crs is None:
            geojson.feature_collection([], scene, wgs84=True)  # raises the no-CRS error
        infer = SceneInferencer(args.config, args.checkpoint, device=args.device,
                                max_passes=args.max_passes, show_progress=len(texts) > 1)
        preds = infer(scene, texts, batch_size=args.batch_size, score_thr=args.score_thr)
        meta = dict(scene=osp.abspath(args.scene), config=osp.abspath(args.config),
                    checkpoint=osp.abspath(args.checkpoint), bands=list(scene.bands),
                    stretch=scene.describe(), window=args.window,
                    overview_hw=list(infer.input_hw(scene.width, scene.height)),
                    fine_input_size=infer.fine_size, score_thr=args.score_thr)
        collection = geojson.feature_collection(preds, scene, args.wgs84, meta)
        if args.vis:
            draw(scene, preds, args.vis, args.vis_size)
    geojson.write_json_atomic(collection, args.out)
    features = iter(collection['features'])
    for pred in preds:
        if pred['no_target']:
            print(f'"{pred["text"]}": no target found (score {pred["score"]:.3f})')
            continue
        p = next(features)['properties']
        area = f'{p["area"]:.6g} {p["area_units"]}'
        print(f'"{p["expression"]}": score {p["score"]:.3f}, {p["passes"]} fine pass(es), '
              f'pixel box {p["pixel_box"]}, area {area}')
    print(f'wrote {len(collection["features"])} feature(s) to {args.out} in '
          f'{time.time() - t0:.1f} s')
    return 0


def main(argv=None):
    args = parse_args(argv)
    from rasterio.errors import RasterioError

    from recs4r_mm.apis import SceneError
    try:
        return run(args)
    except (SceneError, FileNotFoundError, ValueError, RuntimeError, KeyError, OSError,
            RasterioError) as err:
        sys.exit('error: ' + ' '.join(str(err).split()))  # one line


if __name__ == '__main__':
    main()
