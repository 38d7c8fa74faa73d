"""Generate the synthetic remote-sensing referring dataset (RefDIOR layout).

    python tools/dataset_converters/make_synthetic_refrs.py data/synthetic_refrs \
        [--num-images 200] [--image-size 128] [--seed 0] [--overwrite]

With ``--generalized`` it writes the generalized set (no-target and multi-target
expressions) in gRefCOCO's layout instead (defaults 400 images of 384 px):

    python tools/dataset_converters/make_synthetic_refrs.py data/synthetic_grefs \
        --generalized [--no-target-rate 0.15] [--multi-target-rate 0.15]

Loads ``recs4r_mm/datasets/synthetic`` straight from its folder (it needs only
numpy and OpenCV), so it runs without importing torch or the mm stack.
"""
import argparse
import importlib.util
import os.path as osp
import sys
import time

_PKG_DIR = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..', 'recs4r_mm', 'datasets',
                    'synthetic')


def _load_synthetic():
    """Import the generator subpackage standalone (as ``_recs4r_synthetic``)."""
    name = '_recs4r_synthetic'
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, osp.join(_PKG_DIR, '__init__.py'), submodule_search_locations=[_PKG_DIR])
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('out_dir', help='output directory (RefDIOR layout)')
    p.add_argument('--num-images', type=int, default=None,
                   help='number of scenes (default 200; 400 with --generalized)')
    p.add_argument('--image-size', type=int, default=None,
                   help='square image side, px (>= 64; default 128, 384 with --generalized)')
    p.add_argument('--objects', type=int, nargs=2, default=(3, 6), metavar=('MIN', 'MAX'),
                   help='objects (referents) per image')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--splits', type=float, nargs=3, default=(0.7, 0.1, 0.2),
                   metavar=('TRAIN', 'VAL', 'TEST'), help='scene ratios per split')
    p.add_argument('--extra-train-images', type=int, default=0, metavar='N',
                   help='N more scenes, all in train, after the split ones (val and test '
                   'stay the same scenes)')
    p.add_argument('--image-suffix', default='.png', choices=['.png', '.jpg', '.jpeg'])
    p.add_argument('--no-links', action='store_true',
                   help='write real copies instead of hard links for the per-object images')
    p.add_argument('--overwrite', action='store_true',
                   help='replace OUT_DIR if it is an existing synthetic dataset')
    p.add_argument('--preview', metavar='PNG',
                   help='also render a scene with masks, boxes and expressions to PNG')
    p.add_argument('--preview-scene', type=int, default=0, metavar='N',
                   help='index (in scenes.json) of the scene --preview renders')
    p.add_argument('--generalized', action='store_true',
                   help='write the generalized set (no-target and multi-target expressions) '
                   'in gRefCOCO layout')
    p.add_argument('--no-target-rate', type=float, default=0.15,
                   help='--generalized: share of refs per split that refer to nothing')
    p.add_argument('--multi-target-rate', type=float, default=0.15,
                   help='--generalized: share of refs per split that refer to >= 2 objects')
    args = p.parse_args(argv)
    if args.generalized and (args.preview or args.no_links or args.image_suffix != '.png'):
        p.error('--preview, --no-links and --image-suffix apply to the RefDIOR layout only')
    if args.num_images is None:
        args.num_images = 400 if args.generalized else 200
    if args.image_size is None:
        args.image_size = 384 if args.generalized else 128
    return args


def _scenes(params) -> str:
    extra = params.get('extra_train_images', 0)
    return f"{params['num_images']}" + (f' + {extra} train' if extra else '')


def format_summary(s) -> str:
    fams = list(next(iter(s['shape_families'].values())))
    lines = [f"synthetic RefDIOR dataset -> {s['out_dir']}",
             f"  {_scenes(s['params'])} images of {s['params']['image_size']} px, "
             f"seed {s['params']['seed']}, generator {s['params']['generator_version']}",
             f"  {'split':<6}{'scenes':>8}{'objects':>9}{'sentences':>11}  "
             + ' '.join(f'{f:>10}' for f in fams)]
    for sp in s['num_scenes']:
        lines.append(f"  {sp:<6}{s['num_scenes'][sp]:>8}{s['num_objects'][sp]:>9}"
                     f"{s['num_sentences'][sp]:>11}  "
                     + ' '.join(f"{s['shape_families'][sp][f]:>10}" for f in fams))
    lines.append('  categories: ' + ', '.join(f'{k} {v}' for k, v in s['categories'].items()))
    return '\n'.join(lines)


def format_grefs_summary(s) -> str:
    types = ('single', 'multi', 'none')
    lines = [f"synthetic generalized set (gRefCOCO layout) -> {s['out_dir']}",
             f"  {_scenes(s['params'])} images of {s['params']['image_size']} px, "
             f"seed {s['params']['seed']}, no-target rate {s['params']['no_target_rate']}, "
             f"multi-target rate {s['params']['multi_target_rate']}",
             f"  {'split':<6}{'scenes':>8}{'objects':>9}  "
             + ' '.join(f'{t + " refs":>12}' for t in types) + f"{'sentences':>11}"]
    for sp in s['num_scenes']:
        lines.append(f"  {sp:<6}{s['num_scenes'][sp]:>8}{s['num_objects'][sp]:>9}  "
                     + ' '.join(f"{s['num_refs'][sp][t]:>12}" for t in types)
                     + f"{sum(s['num_sentences'][sp].values()):>11}")
    lines.append(f"  vocabulary: {s['vocab_size']} tokens")
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    syn = _load_synthetic()
    t0 = time.time()
    if args.generalized:
        try:
            summary = syn.generate_synthetic_grefs(
                args.out_dir, num_images=args.num_images, image_size=args.image_size,
                objects_per_image=tuple(args.objects), seed=args.seed,
                splits=tuple(args.splits), no_target_rate=args.no_target_rate,
                multi_target_rate=args.multi_target_rate, overwrite=args.overwrite,
                extra_train_images=args.extra_train_images)
        except (FileExistsError, ValueError) as e:
            sys.exit(f'error: {e}')
        print(format_grefs_summary(summary))
        print(f'  generated in {time.time() - t0:.1f} s')
        return summary
    try:
        summary = syn.generate_synthetic_refrs(
            args.out_dir, num_images=args.num_images, image_size=args.image_size,
            objects_per_image=tuple(args.objects), seed=args.seed, splits=tuple(args.splits),
            image_suffix=args.image_suffix, overwrite=args.overwrite,
            link_images=not args.no_links, extra_train_images=args.extra_train_images)
    except (FileExistsError, ValueError) as e:
        sys.exit(f'error: {e}')
    print(format_summary(summary))
    print(f'  generated in {time.time() - t0:.1f} s')
    if args.preview:
        syn.render_preview(summary['out_dir'], args.preview, scene_index=args.preview_scene)
        print(f'  preview -> {args.preview}')
    return summary


if __name__ == '__main__':
    main()
