"""A tiny RECS4R overfits two samples: the loss falls >= 5x and the decoded masks (greedy,
coarse-to-fine, KV cache) reach mean IoU >= 0.8, each >= 0.7."""
import time

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.usefixtures('single_thread')

STEPS = 300


def test_tiny_model_overfits_two_samples(tiny_cfg, make_batch):
    from recs4r_mm.registry import MODELS

    # fine crops from the (teacher-forced) coarse boxes, as at test time; the default
    # jittered-GT crops make every step see a new crop, which is slower to memorise
    tiny_cfg.model.refine.train_crop = 'coarse'
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg.model)
    model.init_weights()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, STEPS, eta_min=1.5e-4)
    imgs, samples, _ = make_batch(['rect', 'circle'])
    start = time.time()
    history = []
    for _ in range(STEPS):
        model.train()
        data = model.data_preprocessor(dict(inputs=imgs, data_samples=samples), True)
        losses = model.loss(data['inputs'], data['data_samples'])
        total = sum(v for k, v in losses.items() if 'loss' in k)
        opt.zero_grad()
        total.backward()
        opt.step()
        sched.step()
        history.append(float(total.detach()))
    first, last = history[0], float(np.mean(history[-10:]))
    assert last * 5 <= first, (first, last)

    imgs, samples, masks = make_batch(['rect', 'circle'], train=False)
    model.eval()
    data = model.data_preprocessor(dict(inputs=imgs, data_samples=samples), False)
    with torch.no_grad():
        results = model.predict(data['inputs'], data['data_samples'])
    ious = []
    for r, gt in zip(results, masks):
        pred = r.pred_instances.masks[0].numpy()
        ious.append((pred & gt).sum() / (pred | gt).sum())
    # float rounding moves the 300-step trajectory: over torch seeds 0-2 and both attention
    # paths (fused / plain ops) the rectangle ends at IoU 0.77-0.92 and the circle at 0.93-0.95
    assert min(ious) >= 0.7 and np.mean(ious) >= 0.8, ious
    assert time.time() - start < 120
