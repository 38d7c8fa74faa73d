"""RECSMetric(generalized=True) against hand-computed gRefCOCO scores (GRES cIoU/gIoU,
N-acc/T-acc, GREC Pr@F1), and the flag-off path unchanged."""

import numpy as np
import pytest
import torch
from log_capture import captured_log
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks
from mmengine.structures import InstanceData

from recs4r_mm.evaluation import RECSMetric
from recs4r_mm.evaluation.functional import box_iou_matrix, count_matches, f1_score

HW = (4, 4)


def _m(y1, y2, x1, x2, hw=HW):
    m = np.zeros(hw, bool)
    m[y1:y2, x1:x2] = True
    return m


def _gsample(gt_boxes, gt_masks, pred_boxes, pred_masks, scores=None, as_dict=True, **meta):
    """A packed sample with N GT and K predicted instances (N, K >= 0)."""
    s = DetDataSample(metainfo=dict(ori_shape=HW, img_path=f'x{len(gt_boxes)}.png', **meta))
    gt = InstanceData()
    gt.bboxes = HorizontalBoxes(torch.tensor(gt_boxes, dtype=torch.float32).reshape(-1, 4))
    gt.masks = BitmapMasks(np.asarray(gt_masks, np.uint8).reshape((-1, ) + HW), *HW)
    s.gt_instances = gt
    pred = InstanceData()
    pred.bboxes = torch.tensor(pred_boxes, dtype=torch.float32).reshape(-1, 4)
    pred.masks = torch.from_numpy(np.asarray(pred_masks, bool).reshape((-1, ) + HW))
    if scores is not None:
        pred.scores = torch.tensor(scores, dtype=torch.float32).reshape(-1)
    s.pred_instances = pred
    return s.to_dict() if as_dict else s


A, B = _m(0, 2, 0, 2), _m(2, 4, 2, 4)  # 4 px each, boxes [0, 0, 2, 2] and [2, 2, 4, 4]
BOX_A, BOX_B = [0, 0, 2, 2], [2, 2, 4, 4]


def _hand_samples():
    return [
        # S1 no-target answered empty: I 0, U 0, IoU 1; N-acc hit; F1 1 (correct)
        _gsample([], [], [], [], [], no_target=True, target_type='none'),
        # S2 no-target answered with a 2 px mask: I 0, U 2, IoU 0; F1 0
        _gsample([], [], [[0, 0, 2, 1]], [_m(0, 1, 0, 2)], [0.75], no_target=True),
        # S3 single target answered empty: I 0, U 4, IoU 0; T-acc miss; F1 0
        _gsample([BOX_A], [A], [], [], [], target_type='single'),
        # S4 single target, 6 px over the 4 px GT: I 4, U 6; box IoU 4/6 -> TP 1, F1 1
        _gsample([BOX_A], [A], [[0, 0, 3, 2]], [_m(0, 2, 0, 3)], [0.7], target_type='single'),
        # S5 3 predicted vs 2 GT: union masks I 8, U 9; TP 2, F1 4/5 = 0.8 -> incorrect
        _gsample([BOX_A, BOX_B], [A, B], [BOX_A, BOX_B, [3, 0, 4, 1]], [A, B, _m(0, 1, 3, 4)],
                 [0.8, 0.6, 0.3], target_type='multi'),
        # S6 2 vs 2 all matched (box IoU 1 and 3/4): union masks I 6, U 8; F1 1 -> correct
        _gsample([BOX_A, BOX_B], [A, B], [BOX_A, [2, 2, 4, 3.5]], [A, _m(2, 3, 2, 4)],
                 [0.55, 0.65], target_type='multi'),
    ]


def _evaluate(samples, **kwargs):
    """Generalized metric on ``samples``: (keys without the prefix, the log text)."""
    with captured_log() as records:
        metric = RECSMetric(generalized=True, **kwargs)
        metric.process({}, samples)
        out = metric.evaluate(len(samples))
    return {k[len('recs/'):]: v for k, v in out.items()}, '\n'.join(records)


def test_functional_matching_and_f1():
    iou = box_iou_matrix([BOX_A, [2, 2, 4, 3.5], [3, 0, 4, 1]], [BOX_A, BOX_B])
    np.testing.assert_allclose(iou, [[1, 0], [0, 0.75], [0, 0]])
    assert box_iou_matrix(np.zeros((0, 4)), [BOX_A]).shape == (0, 1)
    assert count_matches(iou) == 2
    # greedy (highest IoU first) takes P0-G1 and leaves P1 unmatched; the optimum matches both
    assert count_matches(np.array([[0.9, 0.95], [0.0, 0.6]])) == 2
    assert count_matches(np.array([[0.49, 0.2]])) == 0
    assert count_matches(np.zeros((0, 2))) == 0
    assert f1_score(2, 3, 2) == pytest.approx(0.8)
    assert f1_score(2, 2, 2) == 1.0
    assert f1_score(0, 0, 0) == 1.0  # no target, nothing predicted
    assert f1_score(0, 1, 0) == 0.0 and f1_score(0, 0, 1) == 0.0


def test_generalized_hand_computed():
    out, log = _evaluate(_hand_samples())
    giou = (1 + 0 + 0 + 2 / 3 + 8 / 9 + 3 / 4) / 6
    exp = {
        'cIoU': 100 * 18 / 29, 'gIoU': 100 * giou, 'N_acc': 50.0, 'T_acc': 75.0,
        'Pr@F1': 50.0,  # S1, S4, S6
        'no_target/gIoU': 50.0, 'no_target/Pr@F1': 50.0, 'no_target/num_samples': 2,
        'single_target/gIoU': 100 * (2 / 3) / 2, 'single_target/cIoU': 40.0,
        'single_target/Pr@F1': 50.0, 'single_target/num_samples': 2,
        'multi_target/gIoU': 100 * (8 / 9 + 3 / 4) / 2, 'multi_target/cIoU': 100 * 14 / 17,
        'multi_target/Pr@F1': 50.0, 'multi_target/num_samples': 2,
        # classic scores on the single-target samples S3, S4 (top instance vs first GT)
        'single_target/RIS_oIoU': 40.0, 'single_target/RIS_mIoU': 100 / 3,
        'single_target/RIS_Pr@0.5': 50.0, 'single_target/VG_oIoU': 40.0,
        'single_target/VG_mIoU': 100 / 3, 'single_target/VG_Acc@0.5': 50.0,
        'single_target/RECS_Sum': 40 + 100 / 3 + 40 + 100 / 3,
        'num_samples': 6, 'num_ris_samples': 6,
    }
    for k, v in exp.items():
        assert out[k] == pytest.approx(v, abs=1e-6), k
    assert 'no_target/cIoU' not in out  # I is 0 there by definition
    assert 'RIS_mIoU' not in out and 'RECS_Sum' not in out  # classic keys only per single target
    assert all(np.isfinite(v) for v in out.values())
    assert 'RECSMetric generalized (gRefCOCO) protocol: original' in log
    assert '2 no-target, 2 single-target, 2 multi-target' in log
    assert 'N_acc 50.00' in log and 'T_acc 75.00' in log and 'Pr@F1 50.00' in log


@pytest.mark.parametrize('answered', [False, True])
def test_empty_gt(answered):
    pred = ([[0, 0, 1, 1]], [_m(0, 1, 0, 1)], [0.9]) if answered else ([], [], [])
    out, _ = _evaluate([_gsample([], [], *pred)])  # N == 0 without the flag: no target
    assert out['gIoU'] == (0.0 if answered else 100.0)
    assert out['N_acc'] == (0.0 if answered else 100.0)
    assert out['Pr@F1'] == (0.0 if answered else 100.0)
    assert 'T_acc' not in out and 'single_target/RIS_mIoU' not in out
    if answered:
        assert out['cIoU'] == 0.0  # the predicted pixel is all union
    else:
        assert 'cIoU' not in out  # 0 / 0


def test_targeted_answered_empty_and_placeholder_gt():
    # non-empty GT vs empty answer: T_acc 0, gIoU 0, cIoU 0
    out, _ = _evaluate([_gsample([BOX_A], [A], [], [], [])])
    assert out['T_acc'] == 0.0 and out['gIoU'] == 0.0 and out['cIoU'] == 0.0
    assert 'N_acc' not in out and out['Pr@F1'] == 0.0
    # no_target=True with a placeholder GT instance: its GT counts as empty
    out, _ = _evaluate([_gsample([BOX_A], [A], [], [], [], no_target=True)])
    assert out['N_acc'] == 100.0 and out['gIoU'] == 100.0 and out['Pr@F1'] == 100.0


def test_box_only_and_detdatasample_input():
    # box-only samples count on N_acc/T_acc/Pr@F1, not on cIoU/gIoU
    s = _gsample([BOX_A, BOX_B], [A, B], [BOX_B, BOX_A], [B, A], [0.9, 0.8], as_dict=False,
                 box_only=True)
    nt = _gsample([], [], [], [], [], box_only=True)  # a box-only no-target sample
    out, _ = _evaluate([s, nt])
    assert out['Pr@F1'] == 100.0 and out['T_acc'] == 100.0 and out['N_acc'] == 100.0
    assert 'gIoU' not in out and out['num_ris_samples'] == 0
    # correct = every box matched (F1 == 1) for a box-only sample
    assert out['score_ECE'] == pytest.approx(10.0)  # score 0.9, correct


def test_bad_target_type():
    with pytest.raises(ValueError, match='x0.png'):
        _evaluate([_gsample([], [], [], [], [], target_type='single')])
    with pytest.raises(ValueError, match='target_type'):
        _evaluate([_gsample([BOX_A], [A], [], [], [], target_type='several')])
    # the classic metric keeps refusing a sample without a target, naming it
    metric = RECSMetric()
    with pytest.raises(ValueError, match='x0.png'):
        metric.process({}, [_gsample([], [], [], [], [])])


def test_flag_off_unchanged():
    from test_recs_metric import _hand_samples as classic_samples
    classic_keys = {
        'RIS_oIoU', 'RIS_mIoU', 'RIS_Pr@0.5', 'RIS_Pr@0.6', 'RIS_Pr@0.7', 'RIS_Pr@0.8',
        'RIS_Pr@0.9', 'VG_oIoU', 'VG_mIoU', 'VG_Pr@0.5', 'VG_Pr@0.6', 'VG_Pr@0.7', 'VG_Pr@0.8',
        'VG_Pr@0.9', 'VG_Acc@0.5', 'RECS_Sum', 'RECS_WideSum', 'num_samples', 'num_ris_samples'
    }
    off = RECSMetric(per_category=False, score_calibration=False)
    off.process({}, classic_samples())
    base = off.evaluate(4)
    assert set(base) == {f'recs/{k}' for k in classic_keys}
    assert base['recs/RIS_oIoU'] == pytest.approx(100 * 50 / 116)
    # the calibration (on by default) only adds keys
    on = RECSMetric(per_category=False)
    on.process({}, classic_samples())
    full = on.evaluate(4)
    assert {k: full[k] for k in base} == base
    assert set(full) - set(base) == {'recs/score_AUROC', 'recs/score_ECE',
                                     'recs/score_num_samples'}
