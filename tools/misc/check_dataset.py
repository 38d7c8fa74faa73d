"""Check a RECS dataset before training.

    python tools/misc/check_dataset.py CONFIG [--split train|val|test|all] [--out report.json]
        [--max-records N] [--cfg-options KEY=VALUE ...]

Builds the config's dataset(s) as training would (``{train,val,test}_dataloader.dataset``;
``all`` = each of them, val and test once when their dicts are equal) and reports per split:
samples/refs/expressions/images; records skipped at init by reason (first few named) and those
failing when loaded; images whose size differs from the annotation's; boxes that disagree with
their masks' boxes (and whether they look like xywh read as xyxy or the reverse); part and hole
histograms, targets reduced by the model's contour budget rule and their Fill IoU; expressions
longer than the text encoder's ``max_tokens``. Details: ``recs4r_mm/datasets/dataset_report.py``.

Masks are measured where the model encodes them: decoded at the original size by the split's own
``LoadRECSAnnotations`` (sizes and boxes are compared there), then resized by the split's own
``Resize`` step.

Exit code: 1 when a split fails to build or is empty, or when most (> 50 %) of a split's boxes
disagree with their masks; 0 otherwise.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description='Check a RECS dataset before training')
    p.add_argument('config', help='config file')
    p.add_argument('--split', choices=['train', 'val', 'test', 'all'], default='train',
                   help='which dataloader\'s dataset to check (default: train)')
    p.add_argument('--out', help='also write the report as JSON to this file')
    p.add_argument('--max-records', type=int, default=None,
                   help='check only the first N refs (counts still cover the whole split)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config entries, e.g. train_dataloader.dataset.data_root=...')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not osp.isfile(args.config):
        print(f'error: config file not found: {args.config}', file=sys.stderr)
        return 1
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope
    from mmengine.utils import import_modules_from_strings

    import recs4r_mm  # noqa: F401  (registers our modules)
    from recs4r_mm.datasets.dataset_report import check_config, format_report, write_json_atomic
    from recs4r_mm.utils import load_tool_config

    MMLogger.get_instance('check_dataset', log_level='INFO')
    cfg = load_tool_config(args.config, cfg_options=args.cfg_options)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.default_scope)
    try:
        report = check_config(cfg, args.split, args.max_records)
    except KeyError as e:
        print(f'error: {args.config}: {e.args[0]}', file=sys.stderr)
        return 1
    report = dict(config=osp.abspath(args.config), split=args.split, **report)
    print(format_report(report))
    if args.out:
        write_json_atomic(report, args.out)
        print(f'report written to {args.out}')
    return 1 if report['problems'] else 0


if __name__ == '__main__':
    sys.exit(main())
