"""RECSMetric: RIS (masks) + VG (boxes) scores and the RECS Sum (RECS4R, CVPR 2026, Experiments:
Sum = VG oIoU + VG mIoU + RIS oIoU + RIS mIoU; protocol in docs/datasets.md "Metric")."""
import logging
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from recs4r_mm.registry import METRICS


def _np(x):
    if x is None:
        return None
    if hasattr(x, 'tensor'):  # mmdet box types
        x = x.tensor
    if hasattr(x, 'masks') and not isinstance(x, (np.ndarray, torch.Tensor)):  # BitmapMasks
        x = x.masks
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _get(d, key):
    if d is None:
        return None
    return d.get(key) if isinstance(d, dict) else getattr(d, key, None)


def box_inter_union(pred, gt) -> Tuple[float, float]:
    """Intersection and union areas of two xyxy boxes (continuous, no +1); pred may be None."""
    gx1, gy1, gx2, gy2 = [float(v) for v in gt]
    g_area = max(gx2 - gx1, 0.0) * max(gy2 - gy1, 0.0)
    if pred is None:
        return 0.0, g_area
    px1, py1, px2, py2 = [float(v) for v in pred]
    p_area = max(px2 - px1, 0.0) * max(py2 - py1, 0.0)
    iw = max(min(px2, gx2) - max(px1, gx1), 0.0)
    ih = max(min(py2, gy2) - max(py1, gy1), 0.0)
    inter = iw * ih
    return inter, p_area + g_area - inter


def _resize_nearest(mask: np.ndarray, hw) -> np.ndarray:
    if tuple(mask.shape) == tuple(hw):
        return mask
    return cv2.resize(mask.astype(np.uint8), (int(hw[1]), int(hw[0])),
                      interpolation=cv2.INTER_NEAREST).astype(bool)


def _scores(inter: np.ndarray, union: np.ndarray, thresholds) -> Dict[str, float]:
    """oIoU = ΣI/ΣU, mIoU = mean(I/U) (0 when U = 0), Pr@t = mean(IoU >= t); percent."""
    iou = np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
    out = OrderedDict()
    out['oIoU'] = 100.0 * float(inter.sum() / union.sum()) if union.sum() > 0 else 0.0
    out['mIoU'] = 100.0 * float(iou.mean()) if iou.size else 0.0
    for t in thresholds:
        out[f'Pr@{t:g}'] = 100.0 * float((iou >= t - 1e-12).mean()) if iou.size else 0.0
    return out


@METRICS.register_module()
class RECSMetric(BaseMetric):
    """Referring expression contour segmentation metric.

    Per sample: the first (highest-scoring) predicted box and mask against the first GT
    instance. RIS (masks, non-box-only samples): oIoU = ΣI/ΣU, mIoU = mean per-sample IoU (0 when
    the union is empty), Pr@t = share with IoU >= t. VG (boxes, every sample) the same on
    continuous xyxy boxes (Pr@0.5 is Acc@0.5). ``RECS_Sum`` = VG oIoU + VG mIoU + RIS oIoU +
    RIS mIoU (percent, the paper's headline); ``RECS_WideSum`` = the authors' framework's
    14-term sum (RIS Pr@.5-.9 + oIoU + mIoU, and the same on VG).

    Args:
        thresholds (Sequence[float]): Pr@ thresholds.
        protocol (str): ``'original'`` (score masks at the GT's original size; default) or
            ``'resized'`` (resize predicted and GT masks, nearest, to ``eval_size`` first;
            boxes are scaled by the same factors).
        eval_size (tuple, optional): ``(H, W)``; giving it selects ``'resized'``
            (default size (480, 480), the RMSIN protocol).
        category_key (str): metainfo key for the per-category breakdown (e.g. the synthetic
            set's shape family); samples whose value is empty are left out of it.
        per_category (bool): report ``{category}/RIS_mIoU`` etc. when categories are present.
        collect_device / prefix: see :class:`mmengine.evaluator.BaseMetric`.
    """
    default_prefix = 'recs'

    def __init__(self,
                 thresholds: Sequence[float] = (0.5, 0.6, 0.7, 0.8, 0.9),
                 protocol: str = 'original',
                 eval_size: Optional[Tuple[int, int]] = None,
                 category_key: str = 'category',
                 per_category: bool = True,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if protocol not in ('original', 'resized'):
            raise ValueError(f"protocol must be 'original' or 'resized', got {protocol!r}")
        if eval_size is not None:
            protocol = 'resized'
        elif protocol == 'resized':
            eval_size = (480, 480)
        self.protocol = protocol
        self.eval_size = tuple(int(v) for v in eval_size) if eval_size is not None else None
        self.thresholds = tuple(float(t) for t in thresholds)
        self.category_key = category_key
        self.per_category = per_category

    @property
    def protocol_name(self) -> str:
        if self.protocol == 'original':
            return 'original (masks scored at the original GT size)'
        return f'resized (masks resized, nearest, to {self.eval_size[0]}x{self.eval_size[1]})'

    # ------------------------------------------------------------------ per sample
    def score_sample(self, sample: dict) -> dict:
        """Intersection/union of box and mask for one packed sample (dict or DetDataSample)."""
        gt = _get(sample, 'gt_instances')
        pred = _get(sample, 'pred_instances')
        gt_boxes = _np(_get(gt, 'bboxes'))
        if gt_boxes is None or gt_boxes.reshape(-1, 4).shape[0] == 0:
            raise ValueError(f'RECSMetric: sample {_get(sample, "img_path")} has no GT box')
        gt_box = gt_boxes.reshape(-1, 4)[0]
        box_only = bool(_get(sample, 'box_only') or False)
        pred_boxes = _np(_get(pred, 'bboxes'))
        scores = _np(_get(pred, 'scores'))
        k = 0
        if scores is not None and scores.size > 1:
            k = int(np.argmax(scores.reshape(-1)))
        pred_box = (pred_boxes.reshape(-1, 4)[k] if pred_boxes is not None
                    and pred_boxes.size >= 4 else None)
        res = dict(box_only=box_only,
                   category=str(_get(sample, self.category_key) or ''))
        gt_masks = None if box_only else _np(_get(gt, 'masks'))
        if gt_masks is not None and gt_masks.size:
            gt_mask = gt_masks.reshape((-1, ) + gt_masks.shape[-2:])[0].astype(bool)
            ori_hw = gt_mask.shape
        else:
            gt_mask, box_only = None, True
            res['box_only'] = True
            ori_hw = _get(sample, 'ori_shape')
        if self.eval_size is not None and ori_hw is not None:
            sy, sx = self.eval_size[0] / ori_hw[0], self.eval_size[1] / ori_hw[1]
            scale = np.array([sx, sy, sx, sy])
            gt_box = gt_box * scale
            pred_box = pred_box * scale if pred_box is not None else None
        res['box_inter'], res['box_union'] = box_inter_union(pred_box, gt_box)
        if gt_mask is not None:
            pred_masks = _np(_get(pred, 'masks'))
            if pred_masks is not None and pred_masks.size:
                pm = pred_masks.reshape((-1, ) + pred_masks.shape[-2:])[k].astype(bool)
                pm = _resize_nearest(pm, gt_mask.shape)
            else:
                pm = np.zeros_like(gt_mask)
            if self.eval_size is not None:
                pm = _resize_nearest(pm, self.eval_size)
                gm = _resize_nearest(gt_mask, self.eval_size)
            else:
                gm = gt_mask
            res['mask_inter'] = float(np.logical_and(pm, gm).sum())
            res['mask_union'] = float(np.logical_or(pm, gm).sum())
        return res

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            self.results.append(self.score_sample(sample))

    # ------------------------------------------------------------------ summary
    def _group_scores(self, results: List[dict]) -> Dict[str, float]:
        out = OrderedDict()
        ris = [r for r in results if not r['box_only']]
        if ris:
            s = _scores(np.array([r['mask_inter'] for r in ris]),
                        np.array([r['mask_union'] for r in ris]), self.thresholds)
            out.update((f'RIS_{k}', v) for k, v in s.items())
        s = _scores(np.array([r['box_inter'] for r in results]),
                    np.array([r['box_union'] for r in results]), self.thresholds)
        out.update((f'VG_{k}', v) for k, v in s.items())
        if 0.5 in self.thresholds:
            out['VG_Acc@0.5'] = out['VG_Pr@0.5']
        if ris:
            # the paper's RECS Sum (4 terms)
            out['RECS_Sum'] = (out['VG_oIoU'] + out['VG_mIoU'] + out['RIS_oIoU'] +
                               out['RIS_mIoU'])
            # the authors' framework's wide sum: RIS and VG, each Pr@.5-.9 + oIoU + mIoU
            wide = ['oIoU', 'mIoU'] + [f'Pr@{t:g}' for t in self.thresholds]
            out['RECS_WideSum'] = sum(out[f'RIS_{k}'] + out[f'VG_{k}'] for k in wide)
        return out

    def compute_metrics(self, results: list) -> Dict[str, float]:
        if not results:
            raise ValueError('RECSMetric: no sample was processed')
        metrics = self._group_scores(results)
        metrics['num_samples'] = len(results)
        metrics['num_ris_samples'] = sum(not r['box_only'] for r in results)
        lines = [f'RECSMetric protocol: {self.protocol_name}; {len(results)} samples '
                 f'({metrics["num_ris_samples"]} scored on masks and boxes, the rest on '
                 f'boxes only)']
        lines.append('  ' + '  '.join(f'{k} {v:.2f}' for k, v in metrics.items()
                                      if not k.startswith('num_')))
        cats = sorted({r['category'] for r in results if r['category']})
        if self.per_category and cats:
            for c in cats:
                sub = [r for r in results if r['category'] == c]
                s = self._group_scores(sub)
                name = c.replace(' ', '_')
                keep = [k for k in ('RIS_oIoU', 'RIS_mIoU', 'RIS_Pr@0.5', 'VG_oIoU', 'VG_mIoU',
                                    'VG_Pr@0.5', 'RECS_Sum') if k in s]
                for k in keep:
                    metrics[f'{name}/{k}'] = s[k]
                metrics[f'{name}/num_samples'] = len(sub)
                lines.append(f'  [{self.category_key}={c}] n={len(sub)}  ' +
                             '  '.join(f'{k} {s[k]:.2f}' for k in keep))
        print_log('\n'.join(lines), logger='current', level=logging.INFO)
        return dict(metrics)
