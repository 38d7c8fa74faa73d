"""RECSMetric: RIS (masks) + VG (boxes) scores and the RECS Sum (RECS4R, CVPR 2026, Experiments:
Sum = VG oIoU + VG mIoU + RIS oIoU + RIS mIoU; protocol in docs/datasets.md "Metric"); with
``generalized=True`` the gRefCOCO (GRES/GREC) scores, and the confidence score's calibration
(docs/metrics_generalized.md)."""
import logging
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from recs4r_mm.evaluation.functional import (auroc, box_iou_matrix, count_matches,
                                             expected_calibration_error, f1_score,
                                             reliability_table)
from recs4r_mm.registry import METRICS

TARGET_TYPES = ('none', 'single', 'multi')


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


def _num_instances(pred) -> int:
    """K: the length of the first of scores, bboxes, masks that the prediction carries."""
    for key in ('scores', 'bboxes', 'masks'):
        v = _np(_get(pred, key))
        if v is None:
            continue
        if key == 'bboxes':
            return int(v.reshape(-1, 4).shape[0])
        return int(v.shape[0]) if v.ndim else 1
    return 0


def _max_score(pred) -> Optional[float]:
    """The highest predicted score; None when the prediction has no instance or no scores."""
    scores = _np(_get(pred, 'scores'))
    if scores is None or scores.size == 0:
        return None
    return float(scores.reshape(-1).max())


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
        generalized (bool): score zero, one or several targets with the gRefCOCO protocol
            (``cIoU``, ``gIoU``, ``N_acc``, ``T_acc``, ``Pr@F1``, ``single_target/RIS_mIoU`` etc.;
            docs/metrics_generalized.md) instead of the classic keys. Default False.
        score_calibration (bool): add ``score_AUROC``, ``score_ECE``, ``score_num_samples`` and
            log the reliability table of the max predicted score (samples with >= 1 predicted
            instance and scores; correct = IoU >= 0.5). Default True.
        collect_device / prefix: see :class:`mmengine.evaluator.BaseMetric`.
    """
    default_prefix = 'recs'

    def __init__(self,
                 thresholds: Sequence[float] = (0.5, 0.6, 0.7, 0.8, 0.9),
                 protocol: str = 'original',
                 eval_size: Optional[Tuple[int, int]] = None,
                 category_key: str = 'category',
                 per_category: bool = True,
                 generalized: bool = False,
                 score_calibration: bool = True,
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
        self.generalized = generalized
        self.score_calibration = score_calibration
        self.last_reliability_table: List[dict] = []  # rows of the last compute_metrics

    @property
    def protocol_name(self) -> str:
        if self.protocol == 'original':
            return 'original (masks scored at the original GT size)'
        return f'resized (masks resized, nearest, to {self.eval_size[0]}x{self.eval_size[1]})'

    # ------------------------------------------------------------------ per sample
    def score_sample(self, sample: dict) -> dict:
        """Per-sample scores of one packed sample (dict or DetDataSample): plain values only."""
        if self.generalized:
            return self._score_generalized(sample)
        return self._score_classic(sample)

    def _score_classic(self, sample: dict) -> dict:
        """Intersection/union of the top-scoring box and mask vs the first GT instance."""
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
        inter, union = ((res['box_inter'], res['box_union']) if res['box_only'] else
                        (res['mask_inter'], res['mask_union']))
        res['score'] = _max_score(pred)
        res['correct'] = bool(union > 0 and inter / union >= 0.5 - 1e-12)
        return res

    def _score_generalized(self, sample: dict) -> dict:
        """Union-mask intersection/union, answer emptiness and the GREC box F1 of a sample with
        zero, one or several GT instances (and the classic scores of a single-target one)."""
        name = _get(sample, 'img_path')
        gt = _get(sample, 'gt_instances')
        pred = _get(sample, 'pred_instances')
        gt_boxes = _np(_get(gt, 'bboxes'))
        gt_boxes = np.zeros((0, 4)) if gt_boxes is None else gt_boxes.reshape(-1, 4)
        target_type = str(_get(sample, 'target_type') or '')
        if target_type not in ('', ) + TARGET_TYPES:
            raise ValueError(f'RECSMetric: sample {name} has target_type={target_type!r}, '
                             f'expected one of {TARGET_TYPES}')
        no_target = (bool(_get(sample, 'no_target') or False) or gt_boxes.shape[0] == 0
                     or target_type == 'none')
        if no_target and target_type in ('single', 'multi'):
            raise ValueError(f'RECSMetric: sample {name} is target_type={target_type!r} but has '
                             f'no target ({gt_boxes.shape[0]} GT boxes, no_target='
                             f'{_get(sample, "no_target")})')
        if no_target:  # a no-target sample's GT is empty, whatever placeholder it carries
            gt_boxes = gt_boxes[:0]
        n = int(gt_boxes.shape[0])
        kind = target_type or ('none' if no_target else 'single' if n == 1 else 'multi')
        k = _num_instances(pred)
        box_only = bool(_get(sample, 'box_only') or False)
        res = dict(box_only=box_only, category=str(_get(sample, self.category_key) or ''),
                   target_type=kind, no_target=no_target, num_pred=k, num_gt=n)
        # GREC: predicted boxes matched one-to-one to GT boxes at IoU >= 0.5
        pred_boxes = _np(_get(pred, 'bboxes'))
        tp = 0
        if pred_boxes is not None and pred_boxes.size and n:
            tp = count_matches(box_iou_matrix(pred_boxes.reshape(-1, 4), gt_boxes), 0.5)
        res['f1'] = f1_score(tp, k, n)
        res['f1_correct'] = bool(res['f1'] >= 1.0 - 1e-12)
        # GRES: union of the predicted masks vs union of the GT masks
        gt_masks = None if box_only else _np(_get(gt, 'masks'))
        ori_hw = _get(sample, 'ori_shape')
        if gt_masks is not None and gt_masks.ndim >= 2:
            gm = gt_masks.reshape((-1, ) + gt_masks.shape[-2:])[:n].astype(bool).any(0)
        elif no_target and not box_only and ori_hw is not None:
            gm = np.zeros(tuple(int(v) for v in ori_hw[:2]), bool)
        else:
            gm = None
            res['box_only'] = True
        res['iou'] = None
        if gm is not None:
            pred_masks = _np(_get(pred, 'masks'))
            pm = np.zeros_like(gm)
            if k and pred_masks is not None and pred_masks.size:
                pm = pred_masks.reshape((-1, ) + pred_masks.shape[-2:]).astype(bool).any(0)
                pm = _resize_nearest(pm, gm.shape)
            if self.eval_size is not None:
                pm, gm = _resize_nearest(pm, self.eval_size), _resize_nearest(gm, self.eval_size)
            res['mask_inter'] = float(np.logical_and(pm, gm).sum())
            res['mask_union'] = float(np.logical_or(pm, gm).sum())
            if no_target:  # an empty answer to a no-target sample is right, any other wrong
                res['iou'] = 1.0 if k == 0 else 0.0
            else:
                res['iou'] = (res['mask_inter'] / res['mask_union']
                              if res['mask_union'] > 0 else 0.0)
        res['score'] = _max_score(pred)
        res['correct'] = (res['f1_correct'] if res['iou'] is None else
                          bool(k > 0 and res['iou'] >= 0.5 - 1e-12))
        res['classic'] = self._score_classic(sample) if kind == 'single' and n else None
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

    @staticmethod
    def _generalized_scores(results: List[dict]) -> Dict[str, float]:
        """cIoU, gIoU (mask samples), N_acc, T_acc (omitted for an empty group) and Pr@F1."""
        out = OrderedDict()
        seg = [r for r in results if r['iou'] is not None]
        if seg:
            union = sum(r['mask_union'] for r in seg)
            if union > 0:  # 0 when every mask sample is a no-target one answered empty
                out['cIoU'] = 100.0 * sum(r['mask_inter'] for r in seg) / union
            out['gIoU'] = 100.0 * float(np.mean([r['iou'] for r in seg]))
        no = [r['num_pred'] == 0 for r in results if r['no_target']]
        tg = [r['num_pred'] > 0 for r in results if not r['no_target']]
        if no:
            out['N_acc'] = 100.0 * float(np.mean(no))
        if tg:
            out['T_acc'] = 100.0 * float(np.mean(tg))
        out['Pr@F1'] = 100.0 * float(np.mean([r['f1_correct'] for r in results]))
        return out

    def _generalized_metrics(self, results: List[dict], lines: List[str]) -> Dict[str, float]:
        metrics = self._generalized_scores(results)
        counts = {t: sum(r['target_type'] == t for r in results) for t in TARGET_TYPES}
        lines.append(f'RECSMetric generalized (gRefCOCO) protocol: {self.protocol_name}; '
                     f'{len(results)} samples ({counts["none"]} no-target, {counts["single"]} '
                     f'single-target, {counts["multi"]} multi-target; '
                     f'{sum(r["iou"] is not None for r in results)} scored on masks)')
        lines.append('  ' + '  '.join(f'{k} {v:.2f}' for k, v in metrics.items()))
        classic = [r['classic'] for r in results if r['classic'] is not None]
        if classic:
            s = self._group_scores(classic)
            metrics.update((f'single_target/{k}', v) for k, v in s.items())
            lines.append(f'  [classic, single-target samples] n={len(classic)}  ' +
                         '  '.join(f'{k} {v:.2f}' for k, v in s.items()))
        groups = [(f'{t}_target' if t != 'none' else 'no_target',
                   [r for r in results if r['target_type'] == t]) for t in TARGET_TYPES]
        if self.per_category:
            cats = sorted({r['category'] for r in results if r['category']})
            groups += [(c.replace(' ', '_'), [r for r in results if r['category'] == c])
                       for c in cats]
        for name, sub in groups:
            if not sub:
                continue
            s = self._generalized_scores(sub)
            keep = ['gIoU'] + (['cIoU'] if name != 'no_target' else []) + ['Pr@F1']
            keep = [k for k in keep if k in s]
            for k in keep:
                metrics[f'{name}/{k}'] = s[k]
            metrics[f'{name}/num_samples'] = len(sub)
            lines.append(f'  [{name}] n={len(sub)}  ' +
                         '  '.join(f'{k} {s[k]:.2f}' for k in keep))
        metrics['num_samples'] = len(results)
        metrics['num_ris_samples'] = sum(r['iou'] is not None for r in results)
        return metrics

    def _calibration_metrics(self, results: List[dict], lines: List[str]) -> Dict[str, float]:
        """AUROC and ECE (percent) of the max predicted score for "IoU >= 0.5"; the reliability
        table goes to the log and to ``self.last_reliability_table``."""
        self.last_reliability_table = []
        scored = [r for r in results if r.get('score') is not None]
        if not self.score_calibration or not scored:
            return {}
        scores = [r['score'] for r in scored]
        correct = [r['correct'] for r in scored]
        table = reliability_table(scores, correct, num_bins=10)
        self.last_reliability_table = table
        out = OrderedDict()
        area = auroc(scores, correct)
        if area is not None:
            out['score_AUROC'] = 100.0 * area
        out['score_ECE'] = 100.0 * expected_calibration_error(table)
        out['score_num_samples'] = len(scored)
        lines.append(f'  score calibration (max predicted score vs IoU >= 0.5): n={len(scored)} '
                     f'accuracy {100.0 * float(np.mean(correct)):.2f}  ' +
                     '  '.join(f'{k} {v:.2f}' for k, v in out.items() if k != 'score_num_samples'))
        lines.append('    score bin     n    mean score  accuracy')
        for r in table:
            mean = f'{r["mean_score"]:.3f}' if r['n'] else '-'
            acc = f'{100.0 * r["accuracy"]:.1f}' if r['n'] else '-'
            lines.append(f'    [{r["lo"]:.1f}, {r["hi"]:.1f}{"]" if r["hi"] >= 1 else ")"}  '
                         f'{r["n"]:5d}  {mean:>10}  {acc:>8}')
        return out

    def compute_metrics(self, results: list) -> Dict[str, float]:
        if not results:
            raise ValueError('RECSMetric: no sample was processed')
        if self.generalized:
            lines = []
            metrics = self._generalized_metrics(results, lines)
            metrics.update(self._calibration_metrics(results, lines))
            print_log('\n'.join(lines), logger='current', level=logging.INFO)
            return dict(metrics)
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
        metrics.update(self._calibration_metrics(results, lines))
        print_log('\n'.join(lines), logger='current', level=logging.INFO)
        return dict(metrics)
