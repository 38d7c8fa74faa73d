"""RECSMetric against hand-computed values."""
import pickle

import numpy as np
import pytest
import torch
from log_capture import captured_log
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks
from mmengine.structures import InstanceData

from recs4r_mm.evaluation import RECSMetric, box_inter_union
from recs4r_mm.registry import METRICS


def _mask(hw, x1, y1, x2, y2):
    m = np.zeros(hw, bool)
    m[y1:y2, x1:x2] = True
    return m


def _sample(gt_box, pred_box, gt_mask=None, pred_mask=None, box_only=False, category='',
            hw=(20, 20)):
    """A packed sample as the evaluator hands it over (DetDataSample.to_dict())."""
    s = DetDataSample(metainfo=dict(box_only=box_only, category=category, ori_shape=hw,
                                    img_path='x.png'))
    gt = InstanceData()
    gt.bboxes = HorizontalBoxes(torch.tensor([gt_box], dtype=torch.float32))
    if gt_mask is not None:
        gt.masks = BitmapMasks(gt_mask[None].astype(np.uint8), *hw)
    else:  # box-only: the filled box, as LoadRECSAnnotations packs it
        gt.masks = BitmapMasks(_mask(hw, *[int(v) for v in gt_box])[None].astype(np.uint8), *hw)
    s.gt_instances = gt
    pred = InstanceData()
    if pred_box is None:
        pred.bboxes = torch.zeros((0, 4))
        pred.masks = torch.zeros((0, ) + hw, dtype=torch.bool)
        pred.scores = torch.zeros(0)
    else:
        pred.bboxes = torch.tensor([pred_box], dtype=torch.float32)
        pm = pred_mask if pred_mask is not None else np.zeros(hw, bool)
        pred.masks = torch.from_numpy(pm[None])
        pred.scores = torch.ones(1)
    s.pred_instances = pred
    return s.to_dict()


def _hand_samples():
    hw = (20, 20)
    return [
        # A: box IoU 50/100, mask IoU 50/100
        _sample([0, 0, 10, 10], [0, 0, 10, 5], _mask(hw, 0, 0, 10, 10), _mask(hw, 0, 0, 10, 5),
                category='tiny'),
        # B: box IoU 4/28, empty predicted mask -> mask I 0, U 16
        _sample([0, 0, 4, 4], [2, 2, 6, 6], _mask(hw, 0, 0, 4, 4), None, category='tiny'),
        # C: box-only, perfect box (VG only)
        _sample([10, 10, 20, 20], [10, 10, 20, 20], box_only=True, category='with holes'),
        # D: no prediction at all, empty GT mask -> mask union 0 (IoU 0), box I 0, U 1
        _sample([0, 0, 1, 1], None, np.zeros(hw, bool), category='with holes'),
    ]


def test_box_inter_union_continuous():
    assert box_inter_union([0, 0, 10, 5], [0, 0, 10, 10]) == (50.0, 100.0)
    assert box_inter_union([2, 2, 6, 6], [0, 0, 4, 4]) == (4.0, 28.0)
    assert box_inter_union(None, [0, 0, 2, 3]) == (0.0, 6.0)
    assert box_inter_union([5, 5, 6, 6], [0, 0, 1, 1]) == (0.0, 2.0)


def test_hand_computed_values():
    metric = METRICS.build(dict(type='RECSMetric'))
    metric.process({}, _hand_samples())
    pickle.dumps(metric.results)  # plain per-sample results: collectable across ranks
    out = metric.evaluate(4)
    ris_o, ris_m = 100 * 50 / 116, 100 * 0.5 / 3
    vg_o, vg_m = 100 * 154 / 229, 100 * (0.5 + 4 / 28 + 1 + 0) / 4
    exp = {
        'recs/RIS_oIoU': ris_o, 'recs/RIS_mIoU': ris_m, 'recs/RIS_Pr@0.5': 100 / 3,
        'recs/RIS_Pr@0.6': 0.0, 'recs/RIS_Pr@0.9': 0.0,
        'recs/VG_oIoU': vg_o, 'recs/VG_mIoU': vg_m, 'recs/VG_Pr@0.5': 50.0,
        'recs/VG_Acc@0.5': 50.0, 'recs/VG_Pr@0.6': 25.0, 'recs/VG_Pr@0.9': 25.0,
        'recs/RECS_Sum': vg_o + vg_m + ris_o + ris_m,
        'recs/RECS_WideSum': (ris_o + ris_m + 100 / 3) + (vg_o + vg_m + 50 + 4 * 25),
        'recs/num_samples': 4, 'recs/num_ris_samples': 3,
    }
    for k, v in exp.items():
        assert out[k] == pytest.approx(v, abs=1e-6), k
    assert all(np.isfinite(v) for v in out.values())
    # per-category breakdown
    assert out['recs/tiny/RIS_mIoU'] == pytest.approx(25.0)
    assert out['recs/tiny/RIS_oIoU'] == pytest.approx(100 * 50 / 116)
    assert out['recs/tiny/VG_mIoU'] == pytest.approx(100 * (0.5 + 4 / 28) / 2)
    assert out['recs/with_holes/RIS_mIoU'] == 0.0  # only D is a mask sample there
    assert out['recs/with_holes/VG_mIoU'] == pytest.approx(50.0)
    assert out['recs/with_holes/num_samples'] == 2


def test_paper_sum_identity():
    # the paper's headline: 94.69 + 82.68 + 90.01 + 74.45 = 341.83
    metric = RECSMetric(per_category=False)
    s = metric._group_scores([dict(box_only=False, category='', box_inter=1, box_union=1,
                                   mask_inter=1, mask_union=1)])
    assert s['RECS_Sum'] == pytest.approx(400.0)
    assert s['RECS_WideSum'] == pytest.approx(1400.0)


def test_all_box_only_and_empty_predictions():
    hw = (20, 20)
    metric = RECSMetric()
    metric.process({}, [_sample([0, 0, 10, 10], None, box_only=True, hw=hw),
                        _sample([0, 0, 10, 10], [0, 0, 10, 10], box_only=True, hw=hw)])
    out = metric.evaluate(2)
    assert out['recs/VG_mIoU'] == pytest.approx(50.0) and out['recs/VG_oIoU'] == pytest.approx(50)
    assert 'recs/RIS_mIoU' not in out and 'recs/RECS_Sum' not in out  # nothing to score on masks
    # a single sample with empty GT and empty prediction: 0, never NaN
    metric = RECSMetric()
    metric.process({}, [_sample([0, 0, 1, 1], None, np.zeros(hw, bool))])
    out = metric.evaluate(1)
    assert out['recs/RIS_oIoU'] == 0.0 and out['recs/RIS_mIoU'] == 0.0


def test_resized_protocol_and_log_line():
    hw = (10, 20)
    gt = _mask(hw, 0, 0, 10, 10)
    pred = _mask(hw, 0, 0, 6, 10)
    with captured_log() as records:
        orig = RECSMetric()
        orig.process({}, [_sample([0, 0, 10, 10], [0, 0, 6, 10], gt, pred, hw=hw)])
        o = orig.evaluate(1)
        res = RECSMetric(eval_size=(4, 4))
        res.process({}, [_sample([0, 0, 10, 10], [0, 0, 6, 10], gt, pred, hw=hw)])
        r = res.evaluate(1)
    assert o['recs/RIS_mIoU'] == pytest.approx(60.0)
    # nearest to 4x4 takes source columns 0, 5, 10, 15: pred and gt both keep columns 0 and 5
    assert r['recs/RIS_mIoU'] == pytest.approx(100.0)
    assert r['recs/VG_mIoU'] == pytest.approx(60.0)  # box IoU is scale invariant
    assert any('protocol: original' in m for m in records)
    assert any('protocol: resized (masks resized, nearest, to 4x4)' in m for m in records)
    assert RECSMetric(protocol='resized').eval_size == (480, 480)
    with pytest.raises(ValueError):
        RECSMetric(protocol='bogus')


def test_prediction_at_other_size_and_best_score():
    hw = (20, 20)
    gt = _mask(hw, 0, 0, 10, 10)
    s = _sample([0, 0, 10, 10], [0, 0, 10, 10], gt, gt)
    # prediction mask at 10x10 (half size) is resized to the GT size
    s['pred_instances']['masks'] = torch.from_numpy(_mask((10, 10), 0, 0, 5, 5)[None])
    # two predictions: the higher score is scored
    s['pred_instances']['bboxes'] = torch.tensor([[0., 0., 1., 1.], [0., 0., 10., 10.]])
    s['pred_instances']['scores'] = torch.tensor([0.1, 0.9])
    s['pred_instances']['masks'] = torch.from_numpy(
        np.stack([np.zeros((10, 10), bool), _mask((10, 10), 0, 0, 5, 5)]))
    m = RECSMetric()
    m.process({}, [s])
    out = m.evaluate(1)
    assert out['recs/VG_mIoU'] == pytest.approx(100.0)
    assert out['recs/RIS_mIoU'] == pytest.approx(100.0)
