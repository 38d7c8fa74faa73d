"""Browse a RECS training set: mask, box, numbered contour vertices and the expression.

    python tools/misc/browse_dataset.py CONFIG --output-dir DIR [--not-show] [--max-samples N]

The train dataset of CONFIG is built with its own pipeline up to (not including) the packing
step; a ``ContourTarget`` step is appended when the pipeline has none, so what is drawn is the
sequence the model is trained on (``recs4r_mm.structures``), decoded at the pipeline's size.
"""
import argparse
import os
import os.path as osp
import sys

import cv2
import numpy as np

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Draw RECS training samples to PNG files')
    p.add_argument('config', help='config file')
    p.add_argument('--output-dir', required=True, help='where the PNGs go')
    p.add_argument('--not-show', action='store_true', help='do not open a window')
    p.add_argument('--max-samples', type=int, default=20, help='how many samples to draw')
    p.add_argument('--show-interval', type=float, default=2.0, help='seconds per window')
    p.add_argument('--num-vertices', type=int, default=None,
                   help='override ContourTarget.num_vertices when it is appended')
    p.add_argument('--min-size', type=int, default=512,
                   help='drawings are upscaled so the long side is at least this')
    p.add_argument('--cfg-options', nargs='+', default=[], help='key=value overrides')
    return p.parse_args(argv)


def _wrap(text, width):
    words, lines, cur = text.split(), [], ''
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f'{cur} {w}'.strip()
    return lines + ([cur] if cur else [])


def draw_sample(results: dict, min_size: int = 512) -> np.ndarray:
    """BGR drawing of one pipeline result: mask (green), box (yellow), contour (red, numbered
    vertices, holes in blue), expression on top."""
    from recs4r_mm.structures import TOKEN_HOLE, TOKEN_SEP, sequence_to_polygons
    img = results['img']
    img = img if img.ndim == 3 else np.repeat(img[..., None], 3, axis=2)
    img = np.ascontiguousarray(img[..., :3]).astype(np.uint8)
    h, w = img.shape[:2]
    s = max(1.0, min_size / max(h, w))
    canvas = cv2.resize(img, (int(round(w * s)), int(round(h * s))),
                        interpolation=cv2.INTER_NEAREST)
    masks = results.get('gt_masks')
    if masks is not None and len(masks):
        m = cv2.resize(masks.masks[0].astype(np.uint8), canvas.shape[1::-1],
                       interpolation=cv2.INTER_NEAREST).astype(bool)
        canvas[m] = (0.5 * canvas[m] + 0.5 * np.array([0, 200, 0])).astype(np.uint8)
    boxes = results.get('gt_bboxes')
    if boxes is not None and len(boxes):
        b = (boxes.numpy() if hasattr(boxes, 'numpy') else np.asarray(boxes))[0] * s
        cv2.rectangle(canvas, (int(round(b[0])), int(round(b[1]))),
                      (int(round(b[2])), int(round(b[3]))), (0, 220, 255), 2)
    tokens, coords = results.get('gt_tokens'), results.get('gt_coords')
    if tokens is not None:
        parts = sequence_to_polygons(tokens, coords, (h, w))
        font = cv2.FONT_HERSHEY_SIMPLEX
        k = 0
        for part in parts:
            for ci, contour in enumerate([part['outer']] + list(part['holes'])):
                color = (0, 0, 255) if ci == 0 else (255, 80, 0)
                pts = np.round(contour * s).astype(np.int32)
                cv2.polylines(canvas, [pts.reshape(-1, 1, 2)], True, color, 1, cv2.LINE_AA)
                for j, (x, y) in enumerate(pts):
                    cv2.circle(canvas, (int(x), int(y)), 3 if j else 5, color, -1, cv2.LINE_AA)
                    cv2.putText(canvas, str(k), (int(x) + 3, int(y) - 3), font, 0.35,
                                (255, 255, 255), 1, cv2.LINE_AA)
                    k += 1
        n_sep = int((np.asarray(tokens) == TOKEN_SEP).sum())
        n_hole = int((np.asarray(tokens) == TOKEN_HOLE).sum())
        info = f'{k} vertices, {n_sep + 1 if k else 0} part(s), {n_hole} hole(s)'
    else:
        info = 'no contour target'
    text = str(results.get('text', ''))
    flags = ' [box only]' if results.get('box_only') else ''
    cat = f" [{results['category']}]" if results.get('category') else ''
    lines = _wrap(f'"{text}"{flags}{cat}', max(20, canvas.shape[1] // 9)) + [info]
    band = np.full((18 * len(lines) + 8, canvas.shape[1], 3), 255, np.uint8)
    for i, line in enumerate(lines):
        cv2.putText(band, line, (4, 18 * (i + 1)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1,
                    cv2.LINE_AA)
    return np.concatenate([band, canvas], axis=0)


def main(argv=None):
    args = parse_args(argv)
    from mmengine.config import Config, DictAction
    from mmengine.registry import init_default_scope
    from mmengine.utils import import_modules_from_strings

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        opts = {}
        for kv in args.cfg_options:
            k, v = kv.split('=', 1)
            opts[k] = DictAction._parse_iterable(v)
        cfg.merge_from_dict(opts)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    import recs4r_mm.datasets  # noqa: F401  (registers datasets and transforms)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    from recs4r_mm.registry import DATASETS

    ds_cfg = cfg.train_dataloader.dataset
    while 'dataset' in ds_cfg and 'pipeline' not in ds_cfg:  # wrappers (RepeatDataset, ...)
        ds_cfg = ds_cfg.dataset
    pipeline = [dict(t) for t in ds_cfg.get('pipeline', [])
                if not str(t.get('type', '')).startswith('Pack')]
    if not any(t.get('type') == 'ContourTarget' for t in pipeline):
        ct = dict(type='ContourTarget')
        if args.num_vertices:
            ct['num_vertices'] = args.num_vertices
        pipeline.append(ct)
    ds_cfg = dict(ds_cfg, pipeline=pipeline)
    dataset = DATASETS.build(ds_cfg)
    os.makedirs(args.output_dir, exist_ok=True)
    n = min(args.max_samples, len(dataset))
    written = []
    for i in range(n):
        results = dataset[i]
        drawing = draw_sample(results, args.min_size)
        name = osp.splitext(osp.basename(str(results.get('img_path', i))))[0]
        out = osp.join(args.output_dir, f'{i:04d}_{name}.png')
        cv2.imwrite(out, drawing)
        written.append(out)
        if not args.not_show:
            try:
                cv2.imshow('browse_dataset', drawing)
                cv2.waitKey(int(args.show_interval * 1000))
            except cv2.error:
                print('no display available: use --not-show', file=sys.stderr)
                args.not_show = True
    print(f'wrote {len(written)} drawing(s) to {args.output_dir}')
    return written


if __name__ == '__main__':
    main()
