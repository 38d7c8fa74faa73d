"""Once-per-run summary of the GT targets the contour budget rule had to reduce.

No paper part; docs/design.md §6 "Fragmented targets".
"""
import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from recs4r_mm.registry import HOOKS


@HOOKS.register_module()
class ContourBudgetLoggerHook(Hook):
    """After training, log how many GT targets the budget rule reduced to fit the head's
    ``max_len`` (summed over ranks), and the mean and worst IoU between the GT mask and the
    Fill of the encoded sequence, per stage, e.g.::

        contour budget, coarse: 12 of 40000 targets (0.03%) reduced, 57 contour(s) dropped;
        IoU(GT mask, Fill of the sequence) mean 0.712, worst 0.160 (data/x/images/01234.jpg)

    Reads the model's ``budget_stats`` (``{stage: BudgetStats}``, see :class:`RECS4R`); a model
    without it is ignored.
    """
    priority = 'VERY_LOW'

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        for stage, stats in (getattr(model, 'budget_stats', None) or {}).items():
            totals = torch.tensor([stats.targets, stats.reduced, stats.iou_sum,
                                   stats.iou_count, stats.dropped_contours],
                                  dtype=torch.float64)
            worst = torch.tensor([stats.worst_iou], dtype=torch.float64)
            all_reduce(totals, op='sum')
            all_reduce(worst, op='min')
            targets, reduced, iou_sum, iou_count, dropped = totals.tolist()
            if not targets:
                continue  # e.g. the fine stage of a single-stage model
            # the worst record's name is only known on its own rank
            key = stats.worst_key if stats.worst_iou <= worst.item() else 'another rank'
            merged = type(stats)(targets=int(targets), reduced=int(reduced), iou_sum=iou_sum,
                                 iou_count=int(iou_count), worst_iou=worst.item(),
                                 worst_key=key, dropped_contours=int(dropped))
            max_len = getattr(getattr(model, 'head', None), 'max_len', '?')
            runner.logger.info(f'contour budget (head.max_len={max_len}), {stage}: '
                               + merged.summary('targets'))
