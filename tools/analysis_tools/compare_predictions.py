"""Are two prediction dumps identical, bit for bit? (e.g. before/after a refactor)

    python tools/test.py CONFIG CKPT --out before.pkl     # on the old code
    python tools/test.py CONFIG CKPT --out after.pkl      # on the new code
    python tools/analysis_tools/compare_predictions.py before.pkl after.pkl

Compares every field of every sample's ``pred_instances`` (boxes, masks, scores, polygons, ...)
exactly: same keys, shapes, dtypes and values. Prints the first difference and exits 1 when
they differ, 0 when they are identical.
"""
import argparse
import pickle
import sys
from typing import Any, Optional

import numpy as np


def first_difference(a: Any, b: Any, path: str = '') -> Optional[str]:
    """Where ``a`` and ``b`` first differ (``None`` if nowhere). Tensors compare as arrays."""
    if hasattr(a, 'numpy') and hasattr(a, 'detach'):
        a = a.detach().cpu().numpy()
    if hasattr(b, 'numpy') and hasattr(b, 'detach'):
        b = b.detach().cpu().numpy()
    if isinstance(a, dict) or isinstance(b, dict):
        if not (isinstance(a, dict) and isinstance(b, dict)) or set(a) != set(b):
            return f'{path}: keys {sorted(a) if isinstance(a, dict) else type(a)} vs ' \
                   f'{sorted(b) if isinstance(b, dict) else type(b)}'
        for k in a:
            diff = first_difference(a[k], b[k], f'{path}.{k}')
            if diff:
                return diff
        return None
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        if type(a) is not type(b) or len(a) != len(b):
            return f'{path}: {type(a).__name__}[{len(a)}] vs {type(b).__name__}[{len(b)}]'
        for i, (x, y) in enumerate(zip(a, b)):
            diff = first_difference(x, y, f'{path}[{i}]')
            if diff:
                return diff
        return None
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype != b.dtype:
            return f'{path}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}'
        if not np.array_equal(a, b):
            return f'{path}: values differ (max abs diff {np.abs(a - b).max()})' \
                if a.dtype.kind in 'fiu' else f'{path}: values differ'
        return None
    return None if a == b else f'{path}: {a!r} vs {b!r}'


def compare(before: list, after: list) -> Optional[str]:
    """First difference between two ``tools/test.py --out`` dumps' predictions."""
    if len(before) != len(after):
        return f'{len(before)} vs {len(after)} samples'
    for i, (a, b) in enumerate(zip(before, after)):
        diff = first_difference(a.get('pred_instances'), b.get('pred_instances'),
                                f'[{i}].pred_instances')
        if diff:
            return diff
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('before', help='a tools/test.py --out pickle')
    parser.add_argument('after', help='another one')
    args = parser.parse_args(argv)
    dumps = []
    for path in (args.before, args.after):
        with open(path, 'rb') as f:
            dumps.append(pickle.load(f))
    diff = compare(*dumps)
    if diff:
        print(f'DIFFERENT: {diff}')
        return 1
    keys = sorted(dumps[0][0]['pred_instances']) if dumps[0] else []
    print(f'identical: {len(dumps[0])} samples, every field ({", ".join(keys)}) bit for bit')
    return 0


if __name__ == '__main__':
    sys.exit(main())
