"""Render one synthetic scene with its masks, boxes and expressions overlaid.

No paper part; the picture at the top of docs/synthetic_data.md (``render_preview``, section
"Python API").
"""
import json
import os.path as osp
import textwrap
from typing import Optional

import cv2
import numpy as np

# distinct overlay colours (BGR), not used by objects or ground
_OVERLAY = [(255, 255, 0), (255, 0, 255), (0, 255, 0), (0, 128, 255), (255, 128, 0),
            (128, 0, 255), (0, 255, 255), (255, 255, 255)]


def render_preview(dataset_dir: str, out_path: Optional[str] = None, scene_index: int = 0,
                   scale: int = 4, text_width: int = 110) -> np.ndarray:
    """Side-by-side raw image / overlay (mask fill + contours incl. holes, box,
    number) with the numbered expressions below. Returns BGR uint8; writes
    ``out_path`` when given. Reads only the files on disk (what a loader sees)."""
    with open(osp.join(dataset_dir, 'scenes.json'), encoding='utf-8') as f:
        scene = json.load(f)[scene_index]
    with open(osp.join(dataset_dir, 'meta.json'), encoding='utf-8') as f:
        suffix = json.load(f)['params']['image_suffix']
    with open(osp.join(dataset_dir, 'phrase_txts', scene['split'] + '.json'),
              encoding='utf-8') as f:
        records = json.load(f)
    ids = scene['objects']
    img = cv2.imread(osp.join(dataset_dir, 'images', ids[0] + suffix), cv2.IMREAD_COLOR)
    big = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    over = big.copy()
    lines = []
    for k, oid in enumerate(ids):
        col = _OVERLAY[k % len(_OVERLAY)]
        m = cv2.imread(osp.join(dataset_dir, 'masks', oid + '.png'), cv2.IMREAD_GRAYSCALE) > 0
        mb = cv2.resize(m.astype(np.uint8), None, fx=scale, fy=scale,
                        interpolation=cv2.INTER_NEAREST)
        over[mb > 0] = (0.5 * over[mb > 0] + 0.5 * np.array(col)).astype(np.uint8)
        contours, _ = cv2.findContours(mb, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(over, contours, -1, col, 1)
        x1, y1, x2, y2 = (v * scale for v in records[oid]['bbox'])
        cv2.rectangle(over, (x1 - 1, y1 - 1), (x2, y2), col, 1)
        ty = y1 - 4 if y1 > 14 else y2 + 14
        cv2.putText(over, str(k + 1), (x1, ty), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3)
        cv2.putText(over, str(k + 1), (x1, ty), cv2.FONT_HERSHEY_SIMPLEX, 0.5, col, 1)
        r = records[oid]
        head = f"{k + 1}. {r['category']} ({r['shape_family']}): "
        wrapped = textwrap.wrap(head + ' | '.join(r['sentences']), text_width)
        lines += [(wrapped[0], col)] + [('    ' + w, col) for w in wrapped[1:]]
    top = np.concatenate([big, np.full((big.shape[0], 8, 3), 255, np.uint8), over], 1)
    panel = np.full((18 * len(lines) + 12, top.shape[1], 3), 32, np.uint8)
    for j, (text, col) in enumerate(lines):
        cv2.putText(panel, text, (6, 18 + 18 * j), cv2.FONT_HERSHEY_SIMPLEX, 0.42, col, 1,
                    cv2.LINE_AA)
    out = np.concatenate([top, panel], 0)
    if out_path:
        cv2.imwrite(out_path, out, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    return out
