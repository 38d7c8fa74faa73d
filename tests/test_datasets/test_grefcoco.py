"""gRefCOCO (no-target / multi-target refs) and the generalized mode of the base dataset."""
import json
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.registry import init_default_scope
from recs_data_builders import H, W, build_phrase_json, rect_mask, rle_of, write_image

import recs4r_mm.datasets  # noqa: F401  (registers)
from recs4r_mm.datasets import BaseReferringDataset, GRefCOCODataset
from recs4r_mm.registry import DATASETS

init_default_scope('mmdet')

META = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'text', 'no_target',
        'target_type')
# x2 in both directions: boxes x2, mask pixel counts x4 (nearest resize of whole pixels)
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadRECSAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(2 * W, 2 * H), keep_ratio=False),
    dict(type='PackRECSInputs', meta_keys=META),
]


def _sents(ref_id, *texts):
    return [dict(raw=t, sent=t.lower(), sent_id=100 * ref_id + i, tokens=t.split())
            for i, t in enumerate(texts)]


def build_grefcoco(root):
    """grefcoco/{grefs(unc).json, instances.json} + images/train2014/ (2 images, 40x48).

    anns: 11 polygon rect (4,4)-(14,12) 80 px, 12 RLE (20,10)-(30,20) 100 px, 13 polygon
    (32,24)-(44,36) 144 px (image 1); 21 polygon (6,6)-(26,16) 200 px, 22 uncompressed RLE
    (30,20)-(40,34) 140 px, 23 crowd, 24 degenerate polygon (image 2).
    train: 1 single (2 sentences), 2 multi (11, 12, 13), 3 no-target, 4 bad (degenerate 24),
    5 bad (no_target with ann ids), 6 bad (unknown ann 99), 7 single (21 + crowd 23);
    val: 8 multi (21, 22; 2 sentences), 9 no-target (ann_id []).
    """
    images = [dict(id=i, file_name=f'COCO_train2014_{i:012d}.jpg', height=H, width=W)
              for i in (1, 2)]
    for img in images:
        write_image(osp.join(root, 'images', 'train2014', img['file_name']), seed=img['id'])
    uncompressed = dict(size=[H, W], counts=[])
    flat = rect_mask(30, 20, 40, 34).T.reshape(-1)  # column-major runs, starting with 0s
    value, run = False, 0
    for v in flat:
        if v != value:
            uncompressed['counts'].append(run)
            value, run = v, 0
        run += 1
    uncompressed['counts'].append(run)

    def poly(x1, y1, x2, y2):
        return [[x1, y1, x2, y1, x2, y2, x1, y2]]

    anns = [
        dict(id=11, image_id=1, category_id=1, iscrowd=0, segmentation=poly(4, 4, 14, 12),
             bbox=[4, 4, 10, 8]),
        dict(id=12, image_id=1, category_id=2, iscrowd=0,
             segmentation=rle_of(rect_mask(20, 10, 30, 20)), bbox=[20, 10, 10, 10]),
        dict(id=13, image_id=1, category_id=2, iscrowd=0, segmentation=poly(32, 24, 44, 36),
             bbox=[32, 24, 12, 12]),
        dict(id=21, image_id=2, category_id=2, iscrowd=0, segmentation=poly(6, 6, 26, 16),
             bbox=[6, 6, 20, 10]),
        dict(id=22, image_id=2, category_id=1, iscrowd=0, segmentation=uncompressed,
             bbox=[30, 20, 10, 14]),
        dict(id=23, image_id=2, category_id=1, iscrowd=1,
             segmentation=rle_of(rect_mask(0, 30, 10, 40)), bbox=[0, 30, 10, 10]),
        dict(id=24, image_id=2, category_id=1, iscrowd=0,
             segmentation=[[10, 10, 10, 10, 10, 10]], bbox=[10, 10, 0, 0]),
    ]
    coco = dict(images=images, annotations=anns,
                categories=[dict(id=1, name='airplane'), dict(id=2, name='ship')])

    def ref(ref_id, image_id, ann_id, split, texts, no_target=False, cat=1):
        return dict(ref_id=ref_id, image_id=image_id, ann_id=ann_id, split=split,
                    no_target=no_target, category_id=cat, sentences=_sents(ref_id, *texts),
                    file_name=f'COCO_train2014_{image_id:012d}_{ref_id}.jpg')

    refs = [
        ref(1, 1, [11], 'train', ['The left plane', 'small plane']),
        ref(2, 1, [11, 12, 13], 'train', ['All the objects'], cat=[1, 2]),
        ref(3, 2, [-1], 'train', ['the car on the road'], no_target=True, cat=[]),
        ref(4, 2, [21, 24], 'train', ['two things']),
        ref(5, 2, [21], 'train', ['contradiction'], no_target=True),
        ref(6, 2, [99], 'train', ['unknown']),
        ref(7, 2, [21, 23], 'train', ['the ship and the crowd'], cat=2),
        ref(8, 2, [21, 22], 'val', ['ship and plane', 'both objects'], cat=[2, 1]),
        ref(9, 1, [], 'val', ['a red bus'], no_target=True, cat=[]),
    ]
    os.makedirs(osp.join(root, 'grefcoco'), exist_ok=True)
    with open(osp.join(root, 'grefcoco', 'instances.json'), 'w') as f:
        json.dump(coco, f)
    with open(osp.join(root, 'grefcoco', 'grefs(unc).json'), 'w') as f:
        json.dump(refs, f)
    return root


def _grefcoco(root, **kw):
    cfg = dict(type='GRefCOCODataset', data_root=str(root), split='train', test_mode=True,
               pipeline=PIPELINE)
    cfg.update(kw)
    return DATASETS.build(cfg)


def _gt(sample):
    gt = sample['data_samples'].gt_instances
    return gt.bboxes.numpy(), gt.masks.masks.reshape(-1, 2 * H, 2 * W).sum(axis=(1, 2))


def test_grefcoco_train_split(tmp_path, warnings_log):
    build_grefcoco(tmp_path)
    ds = _grefcoco(tmp_path)
    assert isinstance(ds, GRefCOCODataset) and ds.generalized
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [(i['ref_id'], i['text']) for i in infos] == [
        (1, 'The left plane'), (1, 'small plane'), (2, 'All the objects'),
        (3, 'the car on the road'), (7, 'the ship and the crowd')]
    assert [i['target_type'] for i in infos] == ['single', 'single', 'multi', 'none', 'single']
    assert [i['no_target'] for i in infos] == [False, False, False, True, False]
    assert [i['category'] for i in infos] == ['airplane', 'airplane', 'airplane', '', 'ship']
    assert [i['ann_ids'] for i in infos] == [[11], [11], [11, 12, 13], [], [21]]
    assert [len(i['instances']) for i in infos] == [1, 1, 3, 0, 1]
    assert infos[0]['sent_id'] == 100 and infos[1]['sent_id'] == 101
    assert infos[0]['img_path'] == osp.join(str(tmp_path), 'images', 'train2014',
                                            'COCO_train2014_000000000001.jpg')
    assert infos[2]['instances'][2]['bbox'] == [32.0, 24.0, 44.0, 36.0]  # xywh -> xyxy
    assert dict(ds.skip_counts) == {
        'empty or degenerate mask': 1, 'no_target flag disagrees with ann_id': 1,
        'ref pointing at a missing annotation/image': 1}
    assert ds.skip_examples['empty or degenerate mask'] == ['images/train2014/'
                                                            'COCO_train2014_000000000002.jpg '
                                                            '(ref 4)']
    assert ds.skip_examples['no_target flag disagrees with ann_id'] == [
        'grefcoco/grefs(unc).json: ref 5']
    msgs = [r.getMessage() for r in warnings_log]
    assert len(msgs) == 1 and msgs[0].endswith(
        'split=train): skipped 3 bad record(s): 1 empty or degenerate mask, 1 no_target flag '
        'disagrees with ann_id, 1 ref pointing at a missing annotation/image'), msgs

    single = ds[0]
    assert single['inputs'].shape == (3, 2 * H, 2 * W)
    meta = single['data_samples'].metainfo
    assert meta['no_target'] is False and meta['target_type'] == 'single'
    assert meta['text'] == 'The left plane'
    boxes, pixels = _gt(single)
    np.testing.assert_allclose(boxes, [[8, 8, 28, 24]])
    assert pixels.tolist() == [4 * 80]

    multi = ds[2]
    assert multi['data_samples'].metainfo['target_type'] == 'multi'
    boxes, pixels = _gt(multi)
    assert boxes.shape == (3, 4)
    np.testing.assert_allclose(boxes, [[8, 8, 28, 24], [40, 20, 60, 40], [64, 48, 88, 72]])
    assert pixels.tolist() == [4 * 80, 4 * 100, 4 * 144]  # polygon, RLE, polygon
    assert multi['data_samples'].gt_instances.labels.tolist() == [0, 0, 0]

    empty = ds[3]
    meta = empty['data_samples'].metainfo
    assert meta['no_target'] is True and meta['target_type'] == 'none'
    gt = empty['data_samples'].gt_instances
    assert gt.bboxes.shape == (0, 4) and len(gt.labels) == 0
    assert gt.masks.masks.shape == (0, 2 * H, 2 * W)

    crowd = ds[4]  # the crowd annotation 23 is not a target
    boxes, pixels = _gt(crowd)
    np.testing.assert_allclose(boxes, [[12, 12, 52, 32]])
    assert pixels.tolist() == [4 * 200]


def test_grefcoco_val_split_and_training_mode(tmp_path):
    build_grefcoco(tmp_path)
    val = _grefcoco(tmp_path, split='val')
    assert len(val) == 3 and not val.skip_counts
    assert [val.get_data_info(i)['target_type'] for i in range(3)] == ['multi', 'multi', 'none']
    boxes, pixels = _gt(val[0])
    np.testing.assert_allclose(boxes, [[12, 12, 52, 32], [60, 40, 80, 68]])
    assert pixels.tolist() == [4 * 200, 4 * 140]  # polygon, uncompressed RLE
    assert val[0]['data_samples'].metainfo['text'] == 'ship and plane'
    boxes, pixels = _gt(val[2])  # ann_id [] = no target
    assert boxes.shape == (0, 4) and pixels.shape == (0, )
    assert val[2]['data_samples'].metainfo['no_target'] is True

    train = _grefcoco(tmp_path, test_mode=False)  # one sample per ref
    assert len(train) == 4
    seen = {train.get_data_info(0)['text'] for _ in range(40)}
    assert seen == {'The left plane', 'small plane'}
    with pytest.raises(ValueError, match='split "testA" not in .*grefs\\(unc\\).json'):
        _grefcoco(tmp_path, split='testA')


def test_grefcoco_not_generalized_names_the_record(tmp_path):
    build_grefcoco(tmp_path)
    with pytest.raises(ValueError) as err:
        _grefcoco(tmp_path, generalized=False)
    msg = str(err.value)
    assert 'images/train2014/COCO_train2014_000000000001.jpg (ref 2) has 3 targets' in msg
    assert 'set generalized=True (e.g. configs/recs4r_tiny_synthetic_generalized.py)' in msg
    with pytest.raises(ValueError, match=r'000000000002.jpg \(ref 8\) has 2 targets'):
        _grefcoco(tmp_path, split='val', generalized=False)


def test_grefcoco_malformed_refs_file(tmp_path):
    build_grefcoco(tmp_path)
    with open(osp.join(tmp_path, 'grefcoco', 'grefs(unc).json'), 'w') as f:
        json.dump({'refs': []}, f)
    with pytest.raises(ValueError, match='malformed refs file .*grefs\\(unc\\).json'):
        _grefcoco(tmp_path)


class _Records(BaseReferringDataset):
    """Ref records given in memory (the generic record contract, no file format)."""

    def __init__(self, records, **kwargs):
        self.records = records
        super().__init__(**kwargs)

    def load_refs(self):
        for rec in self.records:
            yield dict(rec, sentences=[(f'{rec["ref_id"]}_0', 'some text')])


def _records(root):
    img = osp.join(str(root), 'img.jpg')
    write_image(img)
    full = dict(img_path=img, img_id=1, height=H, width=W, box_only=False)
    return [
        dict(full, ref_id='a', bbox=None, mask=rle_of(rect_mask(2, 3, 12, 8))),
        dict(full, ref_id='b', no_target=True),
        dict(full, ref_id='c', objects=[
            dict(bbox=None, mask=rle_of(rect_mask(2, 3, 12, 8))),
            dict(bbox=[20, 20, 30, 30], mask=rle_of(rect_mask(20, 20, 30, 30)))]),
        dict(full, ref_id='d', objects=[]),
        dict(full, ref_id='e', no_target=True, objects=[dict(bbox=[1, 1, 5, 5], mask=None)]),
        dict(full, ref_id='f', objects=[dict(bbox=[1, 1, 5, 5], mask=rle_of(rect_mask(
            1, 1, 2, 2)))]),
    ]


def test_generalized_record_contract(tmp_path):
    recs = _records(tmp_path)
    ds = _Records(recs, data_root=str(tmp_path), generalized=True, test_mode=True)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [i['ref_id'] for i in infos] == ['a', 'b', 'c', 'd']
    assert [i['target_type'] for i in infos] == ['single', 'none', 'multi', 'none']
    assert [i['no_target'] for i in infos] == [False, True, False, True]
    assert [[o['bbox'] for o in i['instances']] for i in infos] == [
        [[2.0, 3.0, 12.0, 8.0]], [], [[2.0, 3.0, 12.0, 8.0], [20.0, 20.0, 30.0, 30.0]], []]
    assert dict(ds.skip_counts) == {'no_target ref with target objects': 1,
                                    'empty or degenerate mask': 1}
    assert recs[2]['objects'][0]['bbox'] is None  # the caller's objects are not changed
    # without generalized=True a zero-target record is an error naming it
    with pytest.raises(ValueError, match=r'img.jpg \(ref b\) has no target, .*set '
                       r'generalized=True \(e\.g\. configs/recs4r_tiny_synthetic_generalized'):
        _Records(recs, data_root=str(tmp_path), test_mode=True)


def test_single_target_records_unchanged_unless_generalized(tmp_path):
    build_phrase_json(tmp_path)
    plain = DATASETS.build(dict(type='PhraseJsonDataset', data_root=str(tmp_path),
                                test_mode=True))
    assert plain.generalized is False
    info = plain.get_data_info(0)
    assert set(info) == {'img_path', 'img_id', 'ref_id', 'box_only', 'category',
                         'mask_threshold', 'instances', 'height', 'width', 'text', 'sent_id',
                         'sample_idx'}
    assert info['instances'] == [dict(bbox=[4.0, 4.0, 20.0, 16.0], bbox_label=0,
                                      mask=osp.join(str(tmp_path), 'masks', '00001.png'),
                                      ignore_flag=0)]
    gen = DATASETS.build(dict(type='PhraseJsonDataset', data_root=str(tmp_path),
                              test_mode=True, generalized=True))
    assert len(gen) == len(plain) and dict(gen.skip_counts) == dict(plain.skip_counts)
    for i in range(len(plain)):
        a, b = plain.get_data_info(i), gen.get_data_info(i)
        assert b.pop('no_target') is False and b.pop('target_type') == 'single'
        assert a == b
