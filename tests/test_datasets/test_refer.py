"""RefCOCO-style and RRSIS-D refer-style datasets read back through mmdet pipelines."""
import numpy as np
import pytest
from mmengine.registry import init_default_scope
from recs_data_builders import H, W, build_refcoco, build_rrsisd_refer, pipelines

import recs4r_mm.datasets  # noqa: F401  (registers)
from recs4r_mm.registry import DATASETS

init_default_scope('mmdet')


def _refcoco(root, **kw):
    cfg = dict(type='ReferDataset', data_root=str(root), ann_file='refcoco/instances.json',
               split_file='refcoco/refs(unc).p', data_prefix=dict(img_path='train2014/'))
    cfg.update(kw)
    return DATASETS.build(cfg)


def test_refcoco_eval_every_expression(tmp_path, warnings_log):
    build_refcoco(tmp_path)
    _, test_pipe = pipelines()
    ds = _refcoco(tmp_path, split='train', test_mode=True, pipeline=test_pipe)
    # ref 1: 2 sentences, ref 2: 1, ref 4: 1 valid (1 empty); ref 3 (empty polygon) and
    # ref 5 (bbox outside) skipped
    assert len(ds) == 4
    texts = [ds.get_data_info(i)['text'] for i in range(len(ds))]
    assert texts == ['The L shaped plane', 'left plane', 'right ship', 'the big ship']
    msgs = [r.getMessage() for r in warnings_log]
    assert len(msgs) == 1, msgs
    assert msgs[0].endswith('split=train): skipped 3 bad record(s): 1 bbox outside the image, '
                            '1 empty expression, 1 empty or degenerate mask')
    assert 'refs(unc).p' in msgs[0]
    info = ds.get_data_info(0)
    assert info['height'] == H and info['width'] == W and info['category'] == 'airplane'
    assert info['box_only'] is False and info['ref_id'] == 1 and info['sent_id'] == 100
    assert info['instances'][0]['bbox'] == [5.0, 5.0, 20.0, 30.0]  # xywh -> xyxy
    sample = ds[0]
    ds_ = sample['data_samples']
    assert ds_.metainfo['text'] == 'The L shaped plane' and ds_.metainfo['box_only'] is False
    # test pipeline: GT at the ORIGINAL size, image at the network size
    assert sample['inputs'].shape == (3, 32, 32)
    masks = ds_.gt_instances.masks
    assert masks.masks.shape == (1, H, W)
    m = masks.masks[0].astype(bool)
    assert m[20, 7] and not m[20, 15] and m[6, 18]  # L shape: the notch is empty
    np.testing.assert_allclose(ds_.gt_instances.bboxes.numpy(), [[5, 5, 20, 30]])


def test_refcoco_train_samples_one_expression_per_ref(tmp_path):
    build_refcoco(tmp_path)
    train_pipe, _ = pipelines()
    ds = _refcoco(tmp_path, split='train', pipeline=train_pipe)
    assert ds.sample_one_expression and len(ds) == 3  # refs 1, 2, 4
    seen = {ds.get_data_info(0)['text'] for _ in range(40)}
    assert seen == {'The L shaped plane', 'left plane'}
    sample = ds[0]
    gt = sample['data_samples'].gt_instances
    assert sample['inputs'].shape == (3, 32, 32)
    assert gt.masks.masks.shape == (1, 32, 32) and gt.bboxes.shape == (1, 4)
    # box scaled with the image: x * 32/48, y * 32/40
    np.testing.assert_allclose(gt.bboxes.numpy()[0], [5 * 32 / 48, 5 * 32 / 40, 20 * 32 / 48,
                                                      30 * 32 / 40], atol=1e-4)


def test_refcoco_val_split_and_unknown_split(tmp_path):
    build_refcoco(tmp_path)
    ds = _refcoco(tmp_path, split='val', test_mode=True)
    assert len(ds) == 2
    with pytest.raises(ValueError, match='split "testA" not in .*refs\\(unc\\).p'):
        _refcoco(tmp_path, split='testA', test_mode=True)


def test_rrsisd_refer_unwraps_rle_list(tmp_path, warnings_log):
    build_rrsisd_refer(tmp_path)
    _, test_pipe = pipelines()
    ds = DATASETS.build(dict(type='RRSISDDataset', data_root=str(tmp_path), split='train',
                             test_mode=True, pipeline=test_pipe))
    assert len(ds) == 1  # ref 2 has an empty RLE mask
    msgs = [r.getMessage() for r in warnings_log]
    assert len(msgs) == 1 and '1 empty or degenerate mask' in msgs[0]
    info = ds.get_data_info(0)
    assert info['category'] == 'ship'  # from `categories_id`
    assert info['instances'][0]['bbox'] == [8.0, 6.0, 30.0, 20.0]  # xyxy kept
    assert isinstance(info['instances'][0]['mask'], dict)  # the [RLE] list was unwrapped
    gt = ds[0]['data_samples'].gt_instances
    m = gt.masks.masks[0].astype(bool)
    assert m.sum() == 22 * 14 and m[6:20, 8:30].all()
    test = DATASETS.build(dict(type='RRSISDDataset', data_root=str(tmp_path), split='test',
                               test_mode=True))
    assert len(test) == 1 and test.get_data_info(0)['category'] == 'airplane'
