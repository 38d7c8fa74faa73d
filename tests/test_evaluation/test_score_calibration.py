"""Score calibration (AUROC, reliability table, ECE) against hand-computed values, as pure
functions and as the keys RECSMetric adds."""
import numpy as np
import pytest
import torch
from log_capture import captured_log
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks
from mmengine.structures import InstanceData
from test_generalized_metric import _evaluate, _hand_samples

from recs4r_mm.evaluation import RECSMetric
from recs4r_mm.evaluation.functional import auroc, expected_calibration_error, reliability_table

HW = (10, 10)


def _m(x2, hw=HW):
    """Columns [0, x2) of every row: 10 * x2 pixels."""
    m = np.zeros(hw, bool)
    m[:, :x2] = True
    return m


def _sample(pred_x2, score, box_only=False):
    """GT = left half (box [0, 0, 5, 10], 50 px); prediction = columns [0, pred_x2) with
    ``score`` (None: no predicted instance; 'missing': an instance without scores)."""
    s = DetDataSample(metainfo=dict(ori_shape=HW, img_path='x.png', box_only=box_only))
    gt = InstanceData()
    gt.bboxes = HorizontalBoxes(torch.tensor([[0., 0., 5., 10.]]))
    gt.masks = BitmapMasks(_m(5)[None].astype(np.uint8), *HW)
    s.gt_instances = gt
    pred = InstanceData()
    k = 0 if score is None else 1
    pred.bboxes = torch.tensor([[0., 0., float(pred_x2), 10.]])[:k]
    pred.masks = torch.from_numpy(_m(pred_x2)[None])[:k]
    if score != 'missing':
        pred.scores = torch.tensor([score if k else 0.0])[:k]
    s.pred_instances = pred
    return s.to_dict()


def test_auroc_ties_count_half():
    # pairs (pos, neg): (0.9, 0.8) 1, (0.9, 0.3) 1, (0.8, 0.8) 0.5, (0.8, 0.3) 1 -> 3.5 / 4
    assert auroc([0.9, 0.8, 0.8, 0.3], [1, 0, 1, 0]) == pytest.approx(0.875)
    assert auroc([0.1, 0.2, 0.3], [True, False, False]) == pytest.approx(0.0)
    assert auroc([0.5, 0.5], [1, 0]) == pytest.approx(0.5)
    assert auroc([0.9, 0.1], [1, 1]) is None and auroc([0.9, 0.1], [0, 0]) is None
    # against the pairwise definition on random data with many ties
    rng = np.random.default_rng(0)
    s = rng.integers(0, 5, 200) / 4
    c = rng.random(200) < 0.4
    pos, neg = s[c][:, None], s[~c][None]
    ref = ((pos > neg) + 0.5 * (pos == neg)).mean()
    assert auroc(s, c) == pytest.approx(ref)


def test_reliability_table_and_ece():
    scores = [0.05, 0.3, 0.35, 0.7, 1.0, 0.95]
    correct = [0, 0, 1, 1, 1, 0]
    table = reliability_table(scores, correct, num_bins=10)
    assert len(table) == 10
    assert [r['n'] for r in table] == [1, 0, 0, 2, 0, 0, 0, 1, 0, 2]  # 0.3 -> bin 3, 1.0 -> 9
    assert table[0]['lo'] == 0.0 and table[9]['hi'] == 1.0
    assert table[1]['mean_score'] is None and table[1]['accuracy'] is None
    assert table[3]['mean_score'] == pytest.approx(0.325) and table[3]['accuracy'] == 0.5
    assert table[9]['mean_score'] == pytest.approx(0.975) and table[9]['accuracy'] == 0.5
    # ECE = (1 * 0.05 + 2 * 0.175 + 1 * 0.3 + 2 * 0.475) / 6
    assert expected_calibration_error(table) == pytest.approx(1.65 / 6)
    assert expected_calibration_error(reliability_table([], [])) is None
    # float32 scores on an edge (0.7f = 0.69999999) fall in the bin the edge opens
    assert reliability_table(np.float32([0.7, 0.2]), [1, 1])[7]['n'] == 1
    # perfectly calibrated: ECE 0
    assert expected_calibration_error(reliability_table([1.0, 0.0], [1, 0])) == 0.0


def _samples():
    return [
        _sample(5, 0.9),  # mask IoU 1 -> correct (bin 9)
        _sample(0, 0.8),  # empty predicted mask: IoU 0 -> wrong (bin 8)
        _sample(10, 0.8),  # IoU 50 / 100 = 0.5 -> correct (bin 8)
        _sample(2, 0.3),  # IoU 20 / 80 = 0.25 -> wrong (bin 3)
        _sample(5, 0.95, box_only=True),  # box IoU 1 -> correct (bin 9)
        _sample(5, None),  # no predicted instance: left out
    ]


def test_metric_keys_and_log_table():
    with captured_log() as records:
        metric = RECSMetric(per_category=False)
        metric.process({}, _samples())
        out = metric.evaluate(6)
    # positives 0.9, 0.8, 0.95 vs negatives 0.8, 0.3: 5.5 of 6 pairs
    assert out['recs/score_AUROC'] == pytest.approx(100 * 5.5 / 6)
    # bins: 9 (0.9, 0.95; acc 1) 2 * 0.075, 8 (0.8, 0.8; acc 0.5) 2 * 0.3, 3 (0.3; acc 0) 0.3
    assert out['recs/score_ECE'] == pytest.approx(100 * 1.05 / 5)
    assert out['recs/score_num_samples'] == 5
    assert [r['n'] for r in metric.last_reliability_table] == [0, 0, 0, 1, 0, 0, 0, 0, 2, 2]
    log = '\n'.join(records)
    assert 'score calibration (max predicted score vs IoU >= 0.5): n=5 accuracy 60.00' in log
    assert 'score_AUROC 91.67' in log and 'score_ECE 21.00' in log
    assert '[0.8, 0.9)      2       0.800      50.0' in log
    assert '[0.9, 1.0]      2       0.925     100.0' in log
    assert '[0.0, 0.1)      0           -         -' in log


def test_generalized_calibration():
    out, log = _evaluate(_hand_samples())
    # scored: S2 0.75 wrong (no target answered), S4 0.7 (IoU 2/3), S5 0.8 (IoU 8/9; F1 0.8
    # does not matter), S6 0.65 (IoU 3/4) correct: positives above 0.75 in 1 of 3 pairs
    assert out['score_AUROC'] == pytest.approx(100 / 3)
    # bins 6 (0.65; acc 1) 0.35, 7 (0.7, 0.75; acc 0.5) 2 * 0.225, 8 (0.8; acc 1) 0.2
    assert out['score_ECE'] == pytest.approx(25.0)
    assert out['score_num_samples'] == 4
    assert '[0.7, 0.8)      2       0.725      50.0' in log


def test_no_calibration_keys():
    # all correct: no AUROC, ECE still reported
    metric = RECSMetric()
    metric.process({}, [_sample(5, 0.9), _sample(5, 0.2)])
    out = metric.evaluate(2)
    assert 'recs/score_AUROC' not in out
    assert out['recs/score_ECE'] == pytest.approx(100 * (0.1 + 0.8) / 2)
    # missing scores or no predicted instance: no calibration keys
    for samples in ([_sample(5, 'missing')], [_sample(5, None)]):
        metric = RECSMetric()
        metric.process({}, samples)
        out = metric.evaluate(1)
        assert not any(k.startswith('recs/score_') for k in out)
        assert metric.last_reliability_table == []
    # switched off
    metric = RECSMetric(score_calibration=False)
    metric.process({}, _samples())
    out = metric.evaluate(6)
    assert not any(k.startswith('recs/score_') for k in out)
