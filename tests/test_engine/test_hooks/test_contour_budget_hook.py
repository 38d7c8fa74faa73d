"""ContourBudgetLoggerHook: one summary line per stage after training, from the model's stats."""
import types

import torch.nn as nn

from recs4r_mm.engine import ContourBudgetLoggerHook
from recs4r_mm.structures import BudgetRecord, BudgetStats


class _Logger:
    def __init__(self):
        self.lines = []

    def info(self, msg):
        self.lines.append(msg)


def _runner(model):
    return types.SimpleNamespace(model=model, logger=_Logger())


def test_logs_reduced_targets_per_stage_once_after_training():
    model = nn.Module()
    model.head = types.SimpleNamespace(max_len=80)
    coarse, fine = BudgetStats(), BudgetStats()
    for _ in range(7):
        coarse.update(BudgetRecord(num_parts=2))
    coarse.update(BudgetRecord(num_parts=25, dropped_parts=9, fill_iou=0.62), 'a/01.png')
    coarse.update(BudgetRecord(num_parts=40, dropped_parts=24, fill_iou=0.41), 'a/02.png')
    fine.update(BudgetRecord(num_parts=1))
    model.budget_stats = dict(coarse=coarse, fine=fine, unused=BudgetStats())
    runner = _runner(model)
    ContourBudgetLoggerHook().after_train(runner)
    assert runner.logger.lines == [
        'contour budget (head.max_len=80), coarse: 2 of 9 targets (22.22%) reduced, '
        '33 contour(s) dropped; IoU(GT mask, Fill of the sequence) mean 0.515, worst 0.410 '
        '(a/02.png)',
        'contour budget (head.max_len=80), fine: 0 of 1 targets reduced',
    ]  # the stage that saw no target is not logged


def test_models_without_budget_stats_are_ignored():
    runner = _runner(nn.Linear(2, 2))
    ContourBudgetLoggerHook().after_train(runner)
    assert runner.logger.lines == []
