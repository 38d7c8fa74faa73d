"""Fragmented GT masks (1 to 200 parts, with and without holes) never stop training: through
RECS4R.loss at the real configs' sequence settings and the tiny config's, coarse and fine
targets (fine crops cutting parts in two), and through the data pipeline."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from fragmented_masks import PART_COUNTS, blob_mask

from recs4r_mm.models.layers import crop_and_resize
from recs4r_mm.structures import ContourBudget

pytestmark = pytest.mark.usefixtures('single_thread')

HW = 128


def _samples(masks, train=True):
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData
    imgs, samples = [], []
    for i, m in enumerate(masks):
        ys, xs = np.nonzero(m)
        box = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)
        img = np.repeat(np.where(m[..., None], 200, 50), 3, 2).astype(np.uint8)
        imgs.append(torch.from_numpy(img).permute(2, 0, 1).contiguous())
        s = DetDataSample(metainfo=dict(img_shape=m.shape, ori_shape=m.shape,
                                        scale_factor=(1.0, 1.0), text='the white buildings',
                                        box_only=False, img_path=f'blobs_{i}.png'))
        s.gt_instances = InstanceData(bboxes=torch.from_numpy(box),
                                      masks=BitmapMasks(m[None], *m.shape),
                                      labels=torch.zeros(1, dtype=torch.long))
        samples.append(s)
    return imgs, samples


def _build(cfg, num_vertices, max_len, seq_format='contour', with_holes=True):
    from recs4r_mm.registry import MODELS
    cfg.model.sequence_coder.update(num_vertices=num_vertices, with_holes=with_holes,
                                    seq_format=seq_format)
    cfg.model.head.max_len = max_len
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.train()


SETTINGS = [(64, 80), (16, 24)]  # real configs (num_vertices, head.max_len); tiny config


@pytest.mark.parametrize('seq_format', ['contour', 'box_polygon'])
@pytest.mark.parametrize('with_holes', [True, False])
@pytest.mark.parametrize('nv,max_len', SETTINGS)
def test_loss_on_fragmented_masks(tiny_cfg, nv, max_len, seq_format, with_holes):
    model = _build(tiny_cfg, nv, max_len, seq_format, with_holes)
    masks = [blob_mask(n, holes=with_holes) for n in PART_COUNTS]
    imgs, samples = _samples(masks)
    data = model.data_preprocessor(dict(inputs=imgs, data_samples=samples), True)
    losses = model.loss(data['inputs'], data['data_samples'])  # raised ValueError before
    assert {'loss_cls', 'coarse_loss_cls', 'loss_gcl'} <= set(losses)
    for k, v in losses.items():
        assert torch.isfinite(v).all(), k
    sum(v for k, v in losses.items() if 'loss' in k).backward()

    budget = ContourBudget(nv, max_len=max_len, prefix_len=3 if seq_format == 'box_polygon'
                           else 0, with_holes=with_holes)
    assert model.coder.budget.max_contours == budget.max_contours
    records = [budget.encode_mask(m, 'always')[2] for m in masks]
    coarse = model.budget_stats['coarse']
    assert coarse.targets == len(masks)
    assert coarse.reduced == sum(r.reduced for r in records) >= 3  # 20, 60 and 200 parts
    # the coarse targets are the masks themselves: the same worst IoU as measured directly
    assert coarse.worst_iou == pytest.approx(min(r.fill_iou for r in records if r.reduced))
    assert coarse.worst_key == f'blobs_{len(masks) - 1}.png'  # the 200-part mask
    assert coarse.worst_iou >= (0.07 if nv == 64 else 0.01)  # structures test's floors
    assert model.budget_stats['fine'].targets == len(masks)


@pytest.mark.parametrize('nv,max_len', SETTINGS)
def test_fine_targets_of_crops_cutting_parts_in_two(tiny_cfg, nv, max_len):
    model = _build(tiny_cfg, nv, max_len)
    masks = np.stack([blob_mask(n, holes=True) for n in PART_COUNTS])
    masks_t = torch.from_numpy(masks).float()[:, None]
    gt_boxes = torch.tensor([[0, 0, HW, HW]], dtype=torch.float32).expand(len(masks), 4)
    # crops whose edges run through the middle of the squares
    crops = torch.tensor([[3, 5, 61, 67], [10, 10, 90, 70], [7, 30, 100, 121],
                          [1, 2, 33, 35], [40, 41, 127, 99]], dtype=torch.float32)
    tokens, coords, weights = model.coder.encode_crops(
        crop_and_resize(masks_t, crops, (64, 64)), gt_boxes, np.zeros(len(masks), bool), crops,
        64, ['crop'] * len(masks))
    assert tokens.shape[1] - 1 <= max_len  # every sequence fits the decoder
    assert torch.equal(weights, torch.ones(len(masks)))
    fine = model.budget_stats['fine']
    assert fine.targets == len(masks) and fine.reduced >= 1
    # measured worst Fill IoU of these crops: 0.286 (64 vertices), 0.048 (16)
    assert fine.worst_iou >= (0.28 if nv == 64 else 0.04)


def test_fragmented_mask_through_the_data_pipeline(tiny_cfg, tmp_path):
    """A 200-part mask file in the RefDIOR layout -> the config's train pipeline (plus
    ContourTarget at the real settings) -> data preprocessor -> RECS4R.loss."""
    from mmengine.dataset import pseudo_collate

    from recs4r_mm.registry import DATASETS
    root = tmp_path / 'refdior'
    for sub in ('images', 'masks', 'phrase_txts'):
        (root / sub).mkdir(parents=True)
    ann = {}
    for i, (n, holes) in enumerate([(200, False), (60, True), (1, False)]):
        m = blob_mask(n, hw=160, holes=holes, seed=i)
        img = np.repeat(np.where(m[..., None], 200, 40), 3, 2).astype(np.uint8)
        assert cv2.imwrite(str(root / 'images' / f'{i:05d}.jpg'), img)
        assert cv2.imwrite(str(root / 'masks' / f'{i:05d}.png'), m.astype(np.uint8) * 255)
        ys, xs = np.nonzero(m)
        ann[f'{i:05d}'] = dict(bbox=[int(xs.min()), int(ys.min()), int(xs.max()) + 1,
                                     int(ys.max()) + 1], sentences=['the white buildings'])
    (root / 'phrase_txts' / 'train.json').write_text(json.dumps(ann))
    pipeline = list(tiny_cfg.train_pipeline)
    pipeline[2] = dict(type='Resize', scale=(128, 128), keep_ratio=False)
    pipeline.insert(3, dict(type='ContourTarget', num_vertices=64, max_len=80))
    ds = DATASETS.build(dict(type='RefDIORDataset', data_root=str(root), split='train',
                             pipeline=pipeline))
    model = _build(tiny_cfg, 64, 80)
    batch = pseudo_collate([ds[i] for i in range(len(ds))])
    data = model.data_preprocessor(batch, True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert all(torch.isfinite(v).all() for v in losses.values())
    coarse = model.budget_stats['coarse']
    assert (coarse.targets, coarse.reduced) == (3, 2)
    assert osp.basename(coarse.worst_key) == '00000.jpg' and coarse.worst_iou >= 0.05


def test_contour_target_step_fits_max_len():
    from mmdet.structures.mask import BitmapMasks

    from recs4r_mm.datasets.transforms import ContourTarget
    m = blob_mask(60, holes=True)
    step = ContourTarget(num_vertices=64, max_len=80, prefix_len=3)
    out = step(dict(gt_masks=BitmapMasks(m[None], *m.shape),
                    gt_bboxes=np.array([[0, 0, HW, HW]], np.float32), img_path='x.png'))
    assert len(out['gt_tokens']) - 1 + 3 <= 80
    rec = out['contour_budget']
    assert rec.reduced and rec.num_parts == 60 and rec.kept_contours == 13
    assert 'max_len=80' in repr(step)
