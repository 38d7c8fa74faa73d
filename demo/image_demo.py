"""Refer to an object in one image and draw the result.

    python demo/image_demo.py IMG "the red building left of the road" CONFIG CHECKPOINT \
        --out-dir out/

Writes ``out/vis/<img>_0.png`` (mask overlay, box, numbered contour vertices, the expression) and
``out/preds/<img>_0.json`` (polygons, box, score, oriented box = the contour's minimum-area
rectangle: centre, width, height, angle in degrees, corners; ``objects``, one such dict per
object, and ``no_target``). Prints one line per answer: a generalized model may answer "no
target found" or several objects (one line each). Bad input prints one line and exits with 1.
Whole GeoTIFF scenes: tools/infer_scene.py (docs/scene_inference.md).
"""
import argparse
import sys


def parse_args():
    parser = argparse.ArgumentParser(description='RECS4R single-image demo')
    parser.add_argument('img', help='image file')
    parser.add_argument('text', help='referring expression')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out-dir', default='outputs', help='where the PNG and JSON go')
    parser.add_argument('--device', default='cpu', help='cpu, cuda, cuda:0 ...')
    parser.add_argument('--show', action='store_true', help='also show the drawing in a window')
    return parser.parse_args()


def main():
    args = parse_args()
    import os.path as osp

    for path, what in ((args.img, 'image'), (args.config, 'config'),
                       (args.checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            sys.exit(f'error: {what} {path} does not exist')
    if not args.text.strip():
        sys.exit('error: the referring expression is empty')

    import recs4r_mm  # noqa: F401
    from recs4r_mm.apis import RECSInferencer
    try:
        inferencer = RECSInferencer(model=args.config, weights=args.checkpoint, device=args.device)
        result = inferencer(args.img, args.text, out_dir=args.out_dir, show=args.show)
    except (FileNotFoundError, ValueError, RuntimeError, KeyError) as err:
        sys.exit('error: ' + ' '.join(str(err).split()))  # one line
    pred = result['predictions'][0]
    wrote = f'wrote {args.out_dir}/vis and {args.out_dir}/preds'
    if pred.get('no_target'):  # a generalized model found nothing: no box, no score
        print(f'"{args.text}": no target found; {wrote}')
    elif len(pred.get('objects', [])) > 1:
        print(f'"{args.text}": {len(pred["objects"])} objects')
        for k, obj in enumerate(pred['objects']):
            print(f'  object {k + 1}: {describe(obj)}')
        print(wrote)
    else:
        print(f'"{args.text}": {describe(pred)}; {wrote}')


def describe(pred: dict) -> str:
    """Box, oriented box, score and vertex count of one object, as one line prints them."""
    x1, y1, x2, y2 = pred['bbox']
    ob = pred['oriented_box']
    obox = (f'oriented box centre ({ob["center"][0]:.1f}, {ob["center"][1]:.1f}) '
            f'{ob["width"]:.1f} x {ob["height"]:.1f} at {ob["angle"]:.1f} deg, ') if ob else ''
    return (f'box [{x1:.1f}, {y1:.1f}, {x2:.1f}, {y2:.1f}], {obox}score {pred["score"]:.3f}, '
            f'{sum(len(p["outer"]) for p in pred["polygons"])} vertices in '
            f'{len(pred["polygons"])} part(s)')


if __name__ == '__main__':
    main()
