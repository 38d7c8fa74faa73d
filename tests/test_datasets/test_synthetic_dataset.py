"""SyntheticRefRSDataset: generated on first use, then read through the real RefDIOR reader."""
import numpy as np
from mmdet.registry import DATASETS
from mmengine.registry import DefaultScope

import recs4r_mm  # noqa: F401

GENERATOR = dict(num_images=12, image_size=64, seed=3)


def _pipeline():
    return [
        dict(type='LoadImageFromFile'),
        dict(type='LoadRECSAnnotations', with_bbox=True, with_mask=True),
        dict(type='Resize', scale=(48, 48), keep_ratio=False),
        dict(type='PackDetInputs',
             meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'text',
                        'box_only', 'category', 'shape_family')),
    ]


def test_generates_on_first_use_and_reads_back(tmp_path):
    root = tmp_path / 'synthetic'
    with DefaultScope.overwrite_default_scope('mmdet'):
        train = DATASETS.build(dict(type='SyntheticRefRSDataset', data_root=str(root),
                                    split='train', generator=GENERATOR, pipeline=_pipeline()))
        assert (root / 'meta.json').is_file() and (root / 'vocab.txt').is_file()
        val = DATASETS.build(dict(type='SyntheticRefRSDataset', data_root=str(root), split='val',
                                  generator=GENERATOR, pipeline=_pipeline(), test_mode=True))
    # train: one sample per referred object; val: one per expression (objects have 2-3 each)
    assert len(val) >= 2 * len({val.get_data_info(i)['ref_id'] for i in range(len(val))})
    sample = train[0]
    ds = sample['data_samples']
    assert sample['inputs'].shape == (3, 48, 48)
    assert ds.metainfo['text'] and ds.metainfo['box_only'] is False
    assert ds.metainfo['shape_family'] in ('tiny', 'elongated', 'non_convex', 'multi_part',
                                           'with_holes', 'compact')
    mask = ds.gt_instances.masks.to_ndarray()[0]
    assert mask.shape == (48, 48) and mask.sum() > 0
    # the GT box at the input size encloses the GT mask
    x1, y1, x2, y2 = ds.gt_instances.bboxes.tensor[0].tolist()
    ys, xs = np.nonzero(mask)
    assert x1 <= xs.min() + 1 and xs.max() <= x2 + 1 and y1 <= ys.min() + 1 and ys.max() <= y2 + 1
