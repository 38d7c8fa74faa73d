"""Browser demo: upload an image (or click an example), type what you mean, see the contour.

    python demo/web_demo.py CONFIG CHECKPOINT [--port 7860] [--device cpu] [--host 127.0.0.1] \
        [--max-side 4096] [--max-expressions 8]

Serves a Gradio page at http://HOST:PORT. Each line of the expression box is one expression on
the same image (resubmit with other lines to ask again without re-uploading). Every answer is
:class:`RECSInferencer`'s (the same call, drawing and JSON as demo/image_demo.py): the drawing
(mask, contour with numbered vertices, box, oriented box, score) and one JSON per expression
to download. A GeoTIFF with a CRS goes through :class:`SceneInferencer` (overview + windows)
and also gives a GeoJSON in the raster's CRS (when the config has the fine stage).

Bad input (no upload, a file that is not an image, an image over ``--max-side``, an empty
expression, too many lines) is answered in the page's status box and a pop-up; the server keeps
serving. Concurrency: one model serves every tab; requests are serialized (the Gradio queue runs
one inference at a time, ``concurrency_limit=1``, and a lock guards the model), so concurrent
tabs wait their turn and each gets its own answer. Details and a screenshot: demo/README.md.
"""
import argparse
import atexit
import json
import os
import os.path as osp
import shutil
import signal
import sys
import tempfile
import threading
import time
import warnings

os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')  # no calls home from the server

HERE = osp.dirname(osp.abspath(__file__))
EXAMPLES_DIR = osp.join(HERE, 'images', 'examples')
# (file in EXAMPLES_DIR, expressions): test-split scenes of the synthetic set
# (docs/synthetic_data.md)
EXAMPLES = [
    ('s00005.png', 'the tennis court located in the top right corner\n'
                   'the convoy of purple vehicles'),
    ('s00006.png', 'the white storage tank on the right side'),
    ('s00013.png', 'the orange overpass located in the top left corner'),
    ('s00006_utm33n.tif', 'the orange tank'),  # the same scene as a GeoTIFF: also a GeoJSON
]
TIFF_SUFFIXES = ('.tif', '.tiff')
PREVIEW_SIDE = 512
KEEP_REQUESTS = 32  # request folders kept on disk (older ones are removed)


class InputError(ValueError):
    """Bad input from the page: its message is shown there, the server keeps serving."""


def _log(msg: str) -> None:
    from mmengine.logging import print_log
    print_log(msg, logger='current')


def _summary(pred: dict) -> str:
    """One line per answer, as demo/image_demo.py prints it; a generalized model's answer may
    be "no target found" or "N objects" (each object's box and vertices after it)."""
    text = f'"{pred["text"]}": '
    if pred.get('no_target'):
        return text + 'no target found'
    objects = pred.get('objects') or [pred]
    if len(objects) > 1:
        return text + f'{len(objects)} objects, score {pred["score"]:.3f}: ' + '; '.join(
            f'{k + 1}: ' + _object_summary(obj, score=False) for k, obj in enumerate(objects))
    if not pred['polygons']:
        return text + f'no contour decoded, score {pred["score"]:.3f}'
    return text + _object_summary(pred)


def _object_summary(obj: dict, score: bool = True) -> str:
    x1, y1, x2, y2 = obj['bbox']
    return (f'box [{x1:.1f}, {y1:.1f}, {x2:.1f}, {y2:.1f}], ' +
            (f'score {obj["score"]:.3f}, ' if score else '') +
            f'{sum(len(p["outer"]) for p in obj["polygons"])} vertices in '
            f'{len(obj["polygons"])} part(s)')


class WebDemo:
    """The page's logic, without Gradio: checks the input, runs the shared model, writes files.

    Args:
        inferencer (RECSInferencer): the model every request uses.
        max_side (int): longest side (px) of an image read whole.
        max_scene_side (int): longest side (px) of a GeoTIFF (read in windows, so it may be
            far larger).
        max_expressions (int): most lines per request.
        work_dir (str, optional): where each request's drawings and JSON go (default a new
            temporary folder, removed at exit); the last ``KEEP_REQUESTS`` requests are kept.
    """

    def __init__(self, inferencer, max_side: int = 4096, max_scene_side: int = 100000,
                 max_expressions: int = 8, work_dir=None) -> None:
        from recs4r_mm.apis import SceneInferencer
        self.inferencer = inferencer
        self.max_side = int(max_side)
        self.max_scene_side = int(max_scene_side)
        self.max_expressions = int(max_expressions)
        if work_dir is None:
            work_dir = tempfile.mkdtemp(prefix='recs4r_web_demo_')
            atexit.register(shutil.rmtree, work_dir, True)
        self.work_dir = work_dir
        os.makedirs(self.work_dir, exist_ok=True)
        self.lock = threading.Lock()
        self.requests = 0
        try:
            self.scene = SceneInferencer.from_inferencer(inferencer)
        except ValueError as err:  # a single-stage config: GeoTIFFs are read as plain images
            self.scene = None
            _log(f'GeoTIFFs will be read as plain images (no GeoJSON): {err}')

    # -- input ---------------------------------------------------------------------------------
    def expressions(self, text) -> list:
        """The non-blank lines of ``text``."""
        lines = [line.strip() for line in (text or '').splitlines() if line.strip()]
        if not lines:
            raise InputError('the referring expression is empty: type one (one per line for '
                             'several)')
        if len(lines) > self.max_expressions:
            raise InputError(f'{len(lines)} expressions: this server takes at most '
                             f'{self.max_expressions} per request (--max-expressions)')
        return lines

    def inspect(self, path) -> tuple:
        """Check an upload: ``('scene', (w, h))`` for a GeoTIFF the scene API reads, else
        ``('image', (w, h))``; raises :class:`InputError` naming the file otherwise."""
        if not path:
            raise InputError('no image: upload one (or click one of the examples)')
        name = osp.basename(path)
        if not osp.isfile(path):
            raise InputError(f'{name}: the upload is gone from the server, upload it again')
        if path.lower().endswith(TIFF_SUFFIXES) and self.scene is not None:
            size = self._geotiff_size(path)
            if size is not None:
                if max(size) > self.max_scene_side:
                    raise InputError(f'{name} is {size[0]} x {size[1]} px, larger than this '
                                     f'server\'s limit of {self.max_scene_side} px per side for '
                                     'GeoTIFFs (--max-scene-side)')
                return 'scene', size
        from PIL import Image
        try:
            with Image.open(path) as img:
                size = img.size
        except Image.DecompressionBombError:
            raise InputError(f'{name} is too large to open (over {Image.MAX_IMAGE_PIXELS} px)')
        except Exception:  # PIL raises UnidentifiedImageError, OSError, SyntaxError ...
            raise InputError(f'{name} is not an image this demo can read (PNG, JPEG, BMP, TIFF, '
                             'WebP; a GeoTIFF for GeoJSON)')
        if max(size) > self.max_side:
            raise InputError(f'{name} is {size[0]} x {size[1]} px, larger than this server\'s '
                             f'limit of {self.max_side} px per side (--max-side): downscale it')
        return 'image', size

    @staticmethod
    def _geotiff_size(path):
        """(w, h) of a raster with a CRS, None for anything else."""
        from recs4r_mm.apis import SceneError, SceneRaster
        try:
            with SceneRaster(path) as scene:
                return (scene.width, scene.height) if scene.crs is not None else None
        except (SceneError, OSError, ValueError, RuntimeError):
            return None  # not a raster rasterio reads: PIL decides

    def preview(self, path):
        """The upload as (h, w, 3) RGB, long side at most ``PREVIEW_SIDE``."""
        import mmcv
        kind, (w, h) = self.inspect(path)
        k = min(1.0, PREVIEW_SIDE / max(w, h))
        hw = (max(1, round(h * k)), max(1, round(w * k)))
        if kind == 'scene':
            from recs4r_mm.apis import SceneRaster
            with SceneRaster(path) as scene:
                return scene.overview(hw)
        img = mmcv.imread(path, channel_order='rgb')
        if img is None:
            raise InputError(f'{osp.basename(path)} cannot be read as an image')
        return mmcv.imresize(img, hw[::-1]) if k < 1 else img

    # -- inference -----------------------------------------------------------------------------
    def refer(self, path, text) -> dict:
        """Answer every expression (one per line of ``text``) on the upload ``path``.

        Returns:
            dict: ``drawings`` [(png, caption)], ``files`` (JSON per expression, plus the
            GeoJSON for a GeoTIFF), ``predictions`` (the JSON contents), ``status`` (one line
            per answer and the time), ``seconds``.
        """
        kind, _ = self.inspect(path)
        texts = self.expressions(text)
        with self.lock:  # one model, one request at a time
            t0 = time.perf_counter()
            out_dir = self._request_dir()
            if kind == 'scene':
                out = self._refer_scene(path, texts, out_dir)
            else:
                out = self._refer_image(path, texts, out_dir)
            seconds = time.perf_counter() - t0
        device = next(self.inferencer.model.parameters()).device
        out['status'] = '\n'.join([_summary(p) for p in out['predictions']] + [
            f'request {self.requests}: {len(texts)} expression(s) in {seconds:.2f} s on {device}' +
            (' (GeoTIFF: scene inference, GeoJSON in the raster\'s CRS)' if kind == 'scene'
             else '')])
        out['seconds'] = seconds
        _log(f'request {self.requests}: {osp.basename(path)}, {len(texts)} expression(s), '
             f'{seconds:.2f} s')
        return out

    def _request_dir(self) -> str:
        self.requests += 1
        out_dir = osp.join(self.work_dir, f'request_{self.requests:06d}')
        os.makedirs(out_dir)
        old = sorted(d for d in os.listdir(self.work_dir) if d.startswith('request_'))
        for d in old[:-KEEP_REQUESTS]:
            shutil.rmtree(osp.join(self.work_dir, d), ignore_errors=True)
        return out_dir

    def _refer_image(self, path, texts, out_dir) -> dict:
        """RECSInferencer as demo/image_demo.py calls it: it writes vis/*.png and preds/*.json."""
        try:
            self.inferencer([path] * len(texts), texts, out_dir=out_dir)
        except (FileNotFoundError, ValueError) as err:  # e.g. PIL reads it, OpenCV does not
            raise InputError(' '.join(str(err).split()))
        name = osp.splitext(osp.basename(path))[0]
        pngs = [osp.join(out_dir, 'vis', f'{name}_{i}.png') for i in range(len(texts))]
        files = [osp.join(out_dir, 'preds', f'{name}_{i}.json') for i in range(len(texts))]
        preds = []
        for f in files:
            with open(f) as fh:
                preds.append(json.load(fh))
        return dict(drawings=list(zip(pngs, texts)), files=files, predictions=preds)

    def _refer_scene(self, path, texts, out_dir) -> dict:
        """SceneInferencer on a GeoTIFF: GeoJSON in its CRS, JSON per expression in file px."""
        import mmcv

        from recs4r_mm.apis import SceneRaster, geojson
        from recs4r_mm.structures import oriented_box_to_list
        from recs4r_mm.visualization import draw_scene_raster
        name = osp.splitext(osp.basename(path))[0]
        with SceneRaster(path) as scene:
            preds = self.scene(scene, texts)
            collection = geojson.feature_collection(
                preds, scene, meta=dict(scene=osp.basename(path), stretch=scene.describe()))
            drawing = draw_scene_raster(scene, preds, side=768)
        png = osp.join(out_dir, f'{name}_scene.png')
        mmcv.imwrite(drawing[..., ::-1], png)
        geo = osp.join(out_dir, f'{name}.geojson')
        geojson.write_json_atomic(collection, geo)
        files, results = [], []
        for i, p in enumerate(preds):  # the keys of demo/image_demo.py's JSON, file px
            res = dict(text=p['text'], bbox=p['bbox'], score=p['score'],
                       no_target=p.get('no_target', False),
                       polygons=[dict(outer=[[round(float(v), 2) for v in xy] for xy in q['outer']],
                                      holes=[[[round(float(v), 2) for v in xy] for xy in h]
                                             for h in q['holes']]) for q in p['polygons']],
                       oriented_box=oriented_box_to_list(p['oriented_box'], 2)
                       if p['oriented_box'] else None, passes=p['passes'])
            files.append(osp.join(out_dir, f'{name}_{i}.json'))
            with open(files[-1], 'w') as f:
                json.dump(res, f, indent=1)
            results.append(res)
        return dict(drawings=[(png, ' | '.join(texts))], files=files + [geo],
                    predictions=results)


def build_app(demo: WebDemo, title: str = 'RECS4R'):
    """The Gradio page around ``demo``: returns the (not yet launched) ``gr.Blocks``."""
    import gradio as gr

    def on_upload(path):
        if not path:
            return None, ''
        try:
            return demo.preview(path), f'{osp.basename(path)} loaded: type an expression'
        except InputError as err:
            gr.Warning(str(err))
            return None, f'error: {err}'

    def on_refer(path, text):
        try:
            out = demo.refer(path, text)
        except InputError as err:
            gr.Warning(str(err))
            return [], None, None, f'error: {err}'
        except Exception as err:  # a model failure: say it, keep serving
            import traceback
            _log(traceback.format_exc())
            gr.Warning(f'inference failed: {err}')
            return [], None, None, 'error: inference failed: ' + ' '.join(str(err).split())
        # the first drawing opens large, the others as thumbnails under it
        return (gr.Gallery(value=out['drawings'], selected_index=0), out['files'],
                out['predictions'], out['status'])

    examples = [[osp.join(EXAMPLES_DIR, f), t] for f, t in EXAMPLES
                if osp.isfile(osp.join(EXAMPLES_DIR, f))]
    # Gradio's copies of uploads and results: removed after an hour, and at shutdown
    with gr.Blocks(title=f'{title} web demo', delete_cache=(3600, 3600)) as app:
        gr.Markdown(
            f'## {title}: refer to an object, get its contour\n'
            'Upload an image (or click an example), type what you mean (one expression per line '
            'for several; resubmit to ask again on the same image) and press **Refer**. '
            'Red: mask, contour with numbered vertices and box; white: oriented box. A GeoTIFF '
            'also gives a GeoJSON. One model serves every tab: requests run one at a time.')
        with gr.Row():
            with gr.Column(scale=1):
                upload = gr.File(label='Image (PNG, JPEG, TIFF; GeoTIFF for GeoJSON)',
                                 type='filepath', elem_id='upload')
                preview = gr.Image(label='Uploaded image', interactive=False, height=256,
                                   elem_id='preview')
                text = gr.Textbox(label='Referring expression(s), one per line', lines=3,
                                  placeholder='the tennis court located in the top right corner',
                                  elem_id='expression')
                button = gr.Button('Refer', variant='primary', elem_id='refer')
            with gr.Column(scale=2):
                gallery = gr.Gallery(label='Result', columns=2, height=520, preview=True,
                                     object_fit='contain', elem_id='result')
                status = gr.Textbox(label='Status', lines=2, interactive=False,
                                    elem_id='status')
                files = gr.File(label='Downloads: JSON per expression (+ GeoJSON)',
                                file_count='multiple', interactive=False, elem_id='downloads')
                preds = gr.JSON(label='Predictions (the JSON files\' content)',
                                elem_id='predictions')
        if examples:
            gr.Examples(examples, [upload, text], label='Examples (synthetic test set): click one')
        upload.change(on_upload, [upload], [preview, status], concurrency_limit=None)
        button.click(on_refer, [upload, text], [gallery, files, preds, status],
                     concurrency_limit=1, concurrency_id='model')
    return app


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='RECS4R browser demo (Gradio)')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--port', type=int, default=7860, help='port (default 7860)')
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to listen on (default 127.0.0.1; 0.0.0.0 for the network)')
    parser.add_argument('--device', default='cpu', help='cpu, cuda, cuda:0 ...')
    parser.add_argument('--max-side', type=int, default=4096,
                        help='longest image side accepted, px (default 4096)')
    parser.add_argument('--max-scene-side', type=int, default=100000,
                        help='longest GeoTIFF side accepted, px (read in windows; default 100000)')
    parser.add_argument('--max-expressions', type=int, default=8,
                        help='most expressions (lines) per request (default 8)')
    parser.add_argument('--max-file-size', default='500mb', help='largest upload (default 500mb)')
    parser.add_argument('--work-dir', help='where results go (default a temporary folder)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    for path, what in ((args.config, 'config'), (args.checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            sys.exit(f'error: {what} {path} does not exist')
    import recs4r_mm  # noqa: F401
    from recs4r_mm.apis import RECSInferencer
    try:
        inferencer = RECSInferencer(model=args.config, weights=args.checkpoint, device=args.device)
    except (FileNotFoundError, ValueError, RuntimeError, KeyError) as err:
        sys.exit('error: ' + ' '.join(str(err).split()))
    demo = WebDemo(inferencer, args.max_side, args.max_scene_side, args.max_expressions,
                   args.work_dir)
    app = build_app(demo, title=f'RECS4R ({osp.basename(args.config)})')
    import gradio as gr

    # starlette's deprecation of a name gradio uses, printed on every request
    warnings.filterwarnings('ignore', message='.*HTTP_422_UNPROCESSABLE_ENTITY')
    theme = gr.themes.Default(font=['ui-sans-serif', 'system-ui', 'sans-serif'],
                              font_mono=['ui-monospace', 'monospace'])  # no web fonts to fetch
    print(f'serving {args.config} + {args.checkpoint} on {args.device} at '
          f'http://{args.host}:{args.port} (results in {demo.work_dir})', flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a clean exit: atexit runs
    app.queue(default_concurrency_limit=1).launch(
        server_name=args.host, server_port=args.port, share=False, ssr_mode=False,
        max_file_size=args.max_file_size, allowed_paths=[EXAMPLES_DIR, demo.work_dir],
        theme=theme, show_error=True, quiet=True)


if __name__ == '__main__':
    main()
