"""Pure scoring functions of recs4r_mm (numpy in, floats out; no state, no logging).

generalized_scores: box IoU matrix and the GREC one-to-one matching / F1 (gRefCOCO).
score_calibration: AUROC, reliability table and ECE of a confidence score.
"""
from .generalized_scores import box_iou_matrix, count_matches, f1_score
from .score_calibration import auroc, expected_calibration_error, reliability_table

__all__ = [
    'box_iou_matrix', 'count_matches', 'f1_score', 'auroc', 'expected_calibration_error',
    'reliability_table'
]
