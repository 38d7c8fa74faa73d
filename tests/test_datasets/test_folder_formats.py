"""RefDIOR phrase json, RRSIS-D txt (RECS and RSFM layouts), RefSegRS and DIOR-RSVG read back
through pipelines."""
import os.path as osp

import numpy as np
import pytest
from mmengine.registry import init_default_scope
from recs_data_builders import (H, W, build_dior_rsvg, build_phrase_json, build_refsegrs,
                                build_rrsisd_rsfm, build_rrsisd_txt, pipelines)

import recs4r_mm.datasets  # noqa: F401  (registers)
from recs4r_mm.registry import DATASETS
from recs4r_mm.structures import TOKEN_COORD, sequence_to_box

init_default_scope('mmdet')


@pytest.mark.parametrize('img_suffix', ['.jpg', '.png'])
def test_refdior_phrase_json(tmp_path, warnings_log, img_suffix):
    build_phrase_json(tmp_path, img_suffix=img_suffix)
    train_pipe, test_pipe = pipelines()
    # masks validated at init: empty/degenerate ones are skipped and counted
    ds = DATASETS.build(dict(type='RefDIORDataset', data_root=str(tmp_path), split='train',
                             img_suffix=img_suffix, validate_masks=True, test_mode=True,
                             pipeline=test_pipe))
    assert [ds.get_data_info(i)['text'] for i in range(len(ds))] == [
        'the small roof', 'left building', 'the tall tank on the right']
    msgs = [r.getMessage() for r in warnings_log]
    assert len(msgs) == 1
    assert msgs[0].endswith('skipped 4 bad record(s): 1 bbox outside the image, 1 empty '
                            'expression, 2 empty or degenerate mask'), msgs[0]
    assert 'phrase_txts/train.json' in msgs[0]
    info = ds.get_data_info(2)
    assert info['img_path'].endswith('images/00004' + img_suffix)
    assert (info['height'], info['width']) == (H, W)
    gt = ds[2]['data_samples'].gt_instances
    assert gt.masks.masks.shape == (1, H, W) and gt.masks.masks[0, 5:35, 25:45].all()
    assert gt.masks.masks.sum() == 20 * 30
    np.testing.assert_allclose(gt.bboxes.numpy(), [[25, 5, 45, 35]])
    # training: one sample per ref, the contour target comes with it
    train = DATASETS.build(dict(type='PhraseJsonDataset', data_root=str(tmp_path),
                                split='train', img_suffix=img_suffix, validate_masks=True,
                                pipeline=train_pipe[:-1]))
    assert len(train) == 2
    res = train[1]
    assert res['text'] == 'the tall tank on the right'
    assert res['gt_masks'].masks.shape == (1, 32, 32)
    tokens, coords = res['gt_tokens'], res['gt_coords']
    assert (tokens == TOKEN_COORD).sum() == 16
    np.testing.assert_allclose(sequence_to_box(tokens, coords, (32, 32)),
                               res['gt_bboxes'].numpy()[0], atol=1.0)


def test_refdior_lazy_masks_raise_naming_file(tmp_path):
    build_phrase_json(tmp_path)
    _, test_pipe = pipelines()
    # not validated at init: the empty mask is found when loaded -> error naming the file
    ds = DATASETS.build(dict(type='RefDIORDataset', data_root=str(tmp_path), split='train',
                             test_mode=True, pipeline=test_pipe))
    idx = [i for i in range(len(ds)) if ds.get_data_info(i)['ref_id'] == '00002'][0]
    with pytest.raises(ValueError, match=r'masks/00002\.png: mask has 0 object pixel'):
        ds[idx]


def test_rrsisd_txt(tmp_path, warnings_log):
    build_rrsisd_txt(tmp_path)
    _, test_pipe = pipelines()
    ds = DATASETS.build(dict(type='RRSISDTxtDataset', data_root=str(tmp_path),
                             split='trainval_mbr', test_mode=True, validate_masks=True,
                             pipeline=test_pipe))
    assert [ds.get_data_info(i)['text'] for i in range(len(ds))] == [
        'the gray bridge on the left', 'a bridge', 'the vehicle at the bottom right']
    msgs = [r.getMessage() for r in warnings_log]
    assert len(msgs) == 1 and 'trainval_mbr.txt' in msgs[0]
    assert msgs[0].endswith('skipped 3 bad record(s): 1 empty expression, '
                            '1 empty or degenerate mask, 1 malformed line'), msgs[0]
    gt = ds[2]['data_samples'].gt_instances
    np.testing.assert_allclose(gt.bboxes.numpy(), [[20, 10, 40, 30]])
    assert gt.masks.masks[0].sum() == 400
    train = DATASETS.build(dict(type='RRSISDTxtDataset', data_root=str(tmp_path),
                                split='trainval_mbr', validate_masks=True))
    assert len(train) == 2 and train.get_data_info(0)['texts'] == [
        'the gray bridge on the left', 'a bridge']
    test = DATASETS.build(dict(type='RRSISDTxtDataset', data_root=str(tmp_path),
                               split='test_mbr', test_mode=True))
    assert len(test) == 1


def test_refsegrs_threshold_and_box_from_mask(tmp_path, warnings_log):
    build_refsegrs(tmp_path)
    train_pipe, test_pipe = pipelines()
    ds = DATASETS.build(dict(type='RefSegRSDataset', data_root=str(tmp_path), split='train',
                             test_mode=True, pipeline=test_pipe, validate_masks=True))
    assert len(ds) == 2  # id 2: every pixel <= 50 -> empty mask, skipped
    assert len(warnings_log) == 1 and '1 empty or degenerate mask' in warnings_log[0].getMessage()
    assert ds.get_data_info(0)['instances'][0]['bbox'] == [6.0, 10.0, 22.0, 30.0]
    gt = ds[0]['data_samples'].gt_instances
    assert gt.masks.masks[0].sum() == 16 * 20  # the 40-valued corner is background
    np.testing.assert_allclose(gt.bboxes.numpy(), [[6, 10, 22, 30]])
    # lazily checked masks: the box comes from the mask when loaded
    lazy = DATASETS.build(dict(type='RefSegRSDataset', data_root=str(tmp_path), split='train',
                               pipeline=train_pipe))
    assert len(lazy) == 2 and lazy.get_data_info(0)['instances'][0]['bbox'] is None
    out = lazy[0]['data_samples'].gt_instances
    np.testing.assert_allclose(out.bboxes.numpy(), [[6 * 32 / 48, 10 * 32 / 40, 22 * 32 / 48,
                                                     30 * 32 / 40]], atol=1e-4)


def test_refsegrs_split_file_at_root_or_under_phrase_txts(tmp_path):
    build_refsegrs(tmp_path, split='val', phrase_dir='phrase_txts')  # RSFM-family copy
    ds = DATASETS.build(dict(type='RefSegRSDataset', data_root=str(tmp_path), split='val',
                             test_mode=True))
    assert ds.ann_file == osp.join(str(tmp_path), 'phrase_txts', 'output_phrase_val.txt')
    assert [ds.get_data_info(i)['text'] for i in range(len(ds))] == [
        'road along the river', 'the long road', 'a vehicle']
    # both present: the original release's root-level file is used
    with open(tmp_path / 'output_phrase_val.txt', 'w') as f:
        f.write('1 the road at the root\n')
    ds = DATASETS.build(dict(type='RefSegRSDataset', data_root=str(tmp_path), split='val',
                             test_mode=True))
    assert ds.ann_file == osp.join(str(tmp_path), 'output_phrase_val.txt')
    assert [ds.get_data_info(i)['text'] for i in range(len(ds))] == ['the road at the root']
    # neither: the error names both paths tried
    with pytest.raises(FileNotFoundError) as err:
        DATASETS.build(dict(type='RefSegRSDataset', data_root=str(tmp_path), split='test'))
    msg = str(err.value)
    assert osp.join(str(tmp_path), 'output_phrase_test.txt') in msg
    assert osp.join(str(tmp_path), 'phrase_txts', 'output_phrase_test.txt') in msg


def test_rrsisd_rsfm_layout_boxes_from_masks(tmp_path, warnings_log):
    build_rrsisd_rsfm(tmp_path)
    train_pipe, test_pipe = pipelines()
    ds = DATASETS.build(dict(type='RRSISDTxtDataset', data_root=str(tmp_path), split='train',
                             test_mode=True, validate_masks=True, pipeline=test_pipe))
    assert ds.ann_file == osp.join(str(tmp_path), 'phrase_txts', 'output_phrase_train.txt')
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    # number-leading expressions stay whole: no box is read out of them
    assert [i['text'] for i in infos] == ['the gray bridge on the left', 'a bridge',
                                          '2 ships near the dock', '12 34 10 50 planes']
    assert [i['ref_id'] for i in infos] == ['0001', '0001', '0002', '0003']
    msgs = [r.getMessage() for r in warnings_log]
    assert len(msgs) == 1 and msgs[0].endswith('skipped 1 bad record(s): 1 empty or '
                                               'degenerate mask'), msgs
    # validated at init: the box is the mask's bounding rectangle
    assert infos[3]['instances'][0]['bbox'] == [2.0, 20.0, 12.0, 38.0]
    gt = ds[2]['data_samples'].gt_instances
    np.testing.assert_allclose(gt.bboxes.numpy(), [[20, 10, 40, 30]])
    assert gt.masks.masks[0].sum() == 400
    # lazily checked masks: no box at init, the mask's when loaded (at the resized size)
    train = DATASETS.build(dict(type='RRSISDTxtDataset', data_root=str(tmp_path), split='train',
                                pipeline=train_pipe[:-1]))
    assert len(train) == 4 and train.get_data_info(0)['instances'][0]['bbox'] is None
    assert train.get_data_info(0)['texts'] == ['the gray bridge on the left', 'a bridge']
    np.testing.assert_allclose(train[2]['gt_bboxes'].numpy(),
                               [[2 * 32 / 48, 20 * 32 / 40, 12 * 32 / 48, 38 * 32 / 40]],
                               atol=1e-4)
    for split, text in (('val', 'the vehicle at the bottom right'), ('test', 'the bridge')):
        other = DATASETS.build(dict(type='RRSISDTxtDataset', data_root=str(tmp_path),
                                    split=split, test_mode=True))
        assert [other.get_data_info(0)['text']] == [text]


def test_rrsisd_rsfm_missing_split_file_names_both_paths(tmp_path):
    build_rrsisd_rsfm(tmp_path, splits=('train', ))
    with pytest.raises(FileNotFoundError) as err:
        DATASETS.build(dict(type='RRSISDTxtDataset', data_root=str(tmp_path), split='val'))
    msg = str(err.value)
    assert osp.join(str(tmp_path), 'phrase_txts', 'output_phrase_val.txt') in msg
    assert osp.join(str(tmp_path), 'output_phrase_val.txt') in msg


AMBIGUOUS = ('0001 1 2 3 4 cars\n'              # 4 increasing numbers: read as a box
             '0001 2 ships near the dock\n'     # a number word, then text
             '0001 12 34 10 50 planes\n'        # 4 numbers but x2 < x1: text
             '0001 5 5 nan 15 roads\n'          # not finite: text
             '0001 3 4 5\n'                     # fewer than 5 fields: text
             '0001 5 5 25 15\n')                # a box and no expression: skipped


@pytest.mark.parametrize('with_box', [None, False, True])
def test_rrsisd_txt_box_or_text_rule(tmp_path, warnings_log, with_box):
    build_rrsisd_rsfm(tmp_path, splits=())
    with open(tmp_path / 'phrase_txts' / 'mixed.txt', 'w') as f:
        f.write(AMBIGUOUS)
    ds = DATASETS.build(dict(type='RRSISDTxtDataset', data_root=str(tmp_path),
                             ann_file='phrase_txts/mixed.txt', with_box=with_box,
                             test_mode=True))
    got = [(ds.get_data_info(i)['text'], ds.get_data_info(i)['instances'][0]['bbox'])
           for i in range(len(ds))]
    msgs = [r.getMessage() for r in warnings_log]
    if with_box is None:
        assert got == [('cars', [1.0, 2.0, 3.0, 4.0]),
                       ('2 ships near the dock', None), ('12 34 10 50 planes', None),
                       ('5 5 nan 15 roads', None), ('3 4 5', None)]
        # '0001 5 5 25 15' is a ref of its own (its box) with an empty expression
        assert msgs[0].endswith('skipped 2 bad record(s): 1 empty expression, 1 ref without '
                                'a valid expression'), msgs
    elif with_box is False:
        assert [g[0] for g in got] == ['1 2 3 4 cars', '2 ships near the dock',
                                       '12 34 10 50 planes', '5 5 nan 15 roads', '3 4 5',
                                       '5 5 25 15']
        assert all(g[1] is None for g in got) and not msgs
    else:  # every line must carry a box: 3 lines without one are malformed, the x2 < x1
        # box is degenerate, the box without expression is an empty ref
        assert got == [('cars', [1.0, 2.0, 3.0, 4.0])]
        assert msgs[0].endswith('skipped 6 bad record(s): 1 degenerate bbox, 1 empty '
                                'expression, 3 malformed line, 1 ref without a valid '
                                'expression'), msgs


def test_rrsisd_txt_mbr_files_require_a_box(tmp_path):
    build_rrsisd_txt(tmp_path)
    ds = DATASETS.build(dict(type='RRSISDTxtDataset', data_root=str(tmp_path),
                             split='test_mbr', test_mode=True))
    assert ds.with_box is True
    rsfm = DATASETS.build(dict(type='RRSISDTxtDataset', data_root=str(tmp_path),
                               ann_file='phrase_txts/test_mbr.txt', with_box=False,
                               test_mode=True))
    assert rsfm.get_data_info(0)['text'] == '20 10 40 30 the right vehicle'


def test_dior_rsvg_box_only(tmp_path, warnings_log):
    build_dior_rsvg(tmp_path)
    train_pipe, test_pipe = pipelines()
    ds = DATASETS.build(dict(type='DIORRSVGDataset', data_root=str(tmp_path), split='train',
                             test_mode=True, pipeline=test_pipe))
    assert len(ds) == 2  # global indices 0 and 2; index 3 has an empty description
    assert len(warnings_log) == 1 and '1 empty expression' in warnings_log[0].getMessage()
    infos = [ds.get_data_info(i) for i in range(2)]
    assert [i['text'] for i in infos] == ['the vehicle on the top left', 'the dam']
    assert [i['category'] for i in infos] == ['vehicle', 'dam']
    assert all(i['box_only'] for i in infos)
    sample = ds[1]['data_samples']
    assert sample.metainfo['box_only'] is True
    m = sample.gt_instances.masks.masks[0]
    assert m.shape == (H, W) and m.sum() == 35 * 25 and m[5:30, 5:40].all()
    np.testing.assert_allclose(sample.gt_instances.bboxes.numpy(), [[5, 5, 40, 30]])
    val = DATASETS.build(dict(type='DIORRSVGDataset', data_root=str(tmp_path), split='val',
                              test_mode=True))
    assert [val.get_data_info(0)['text']] == ['ship in the middle']
    # training: box-only samples get the 4-corner contour of the box at the input size
    train = DATASETS.build(dict(type='DIORRSVGDataset', data_root=str(tmp_path), split='train',
                                pipeline=train_pipe[:-1]))
    res = train[1]
    assert res['box_only'] is True
    np.testing.assert_allclose(sequence_to_box(res['gt_tokens'], res['gt_coords'], (32, 32)),
                               res['gt_bboxes'].numpy()[0], atol=1e-4)
