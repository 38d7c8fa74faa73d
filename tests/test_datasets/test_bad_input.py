"""Bad input: missing paths, unreadable images, malformed files -> errors naming the path."""
import os
import os.path as osp

import pytest
from mmengine.registry import init_default_scope
from recs_data_builders import (build_dior_rsvg, build_phrase_json, build_refcoco, build_refsegrs,
                                build_rrsisd_txt, pipelines, rect_mask, write_mask)

import recs4r_mm.datasets  # noqa: F401  (registers)
from recs4r_mm.registry import DATASETS

init_default_scope('mmdet')


def test_missing_root_and_files(tmp_path):
    missing = str(tmp_path / 'nowhere')
    for t in ('RefDIORDataset', 'RRSISDTxtDataset', 'RefSegRSDataset', 'DIORRSVGDataset',
              'RRSISDDataset', 'ReferDataset'):
        with pytest.raises(FileNotFoundError, match='nowhere'):
            DATASETS.build(dict(type=t, data_root=missing))
    build_phrase_json(tmp_path)
    with pytest.raises(FileNotFoundError,
                       match=r'annotation file not found: .*phrase_txts/val\.json'):
        DATASETS.build(dict(type='RefDIORDataset', data_root=str(tmp_path), split='val'))
    with pytest.raises(FileNotFoundError, match=r'mask directory not found: .*segs'):
        DATASETS.build(dict(type='RefDIORDataset', data_root=str(tmp_path),
                            data_prefix=dict(img_path='images/', mask_path='segs/')))
    os.remove(tmp_path / 'images' / '00004.jpg')
    with pytest.raises(FileNotFoundError, match=r'image file not found: .*images/00004\.jpg'):
        DATASETS.build(dict(type='RefDIORDataset', data_root=str(tmp_path)))


def test_missing_refer_files(tmp_path):
    build_refcoco(tmp_path)
    os.remove(tmp_path / 'refcoco' / 'refs(unc).p')
    with pytest.raises(FileNotFoundError, match=r'refs split file not found: .*refs\(unc\)\.p'):
        DATASETS.build(dict(type='ReferDataset', data_root=str(tmp_path)))
    (tmp_path / 'refcoco' / 'refs(unc).p').write_bytes(b'not a pickle')
    with pytest.raises(ValueError, match=r'malformed refs file .*refs\(unc\)\.p'):
        DATASETS.build(dict(type='ReferDataset', data_root=str(tmp_path)))
    build_refcoco(tmp_path)
    (tmp_path / 'refcoco' / 'instances.json').write_text('{"images": []')
    with pytest.raises(ValueError, match=r'malformed annotation file .*instances\.json'):
        DATASETS.build(dict(type='ReferDataset', data_root=str(tmp_path)))


def test_unreadable_image(tmp_path):
    build_phrase_json(tmp_path)
    bad = tmp_path / 'images' / '00001.jpg'
    bad.write_bytes(b'this is not a jpeg')
    # header checked at init
    with pytest.raises(OSError, match=r'cannot read image .*images/00001\.jpg'):
        DATASETS.build(dict(type='RefDIORDataset', data_root=str(tmp_path)))
    # or, when not checked at init, when the image is loaded
    _, test_pipe = pipelines()
    ds = DATASETS.build(dict(type='RefDIORDataset', data_root=str(tmp_path), check_images=False,
                             test_mode=True, pipeline=test_pipe))
    with pytest.raises(Exception, match=r'images/00001\.jpg'):
        ds[0]


def test_malformed_annotation_files(tmp_path):
    build_phrase_json(tmp_path)
    (tmp_path / 'phrase_txts' / 'train.json').write_text('{"00001": [1, 2')
    with pytest.raises(ValueError, match=r'malformed annotation file .*train\.json'):
        DATASETS.build(dict(type='RefDIORDataset', data_root=str(tmp_path)))
    (tmp_path / 'phrase_txts' / 'train.json').write_text('[1, 2]')
    with pytest.raises(ValueError, match=r'malformed annotation file .*train\.json'):
        DATASETS.build(dict(type='RefDIORDataset', data_root=str(tmp_path)))
    d = tmp_path / 'rsvg'
    build_dior_rsvg(d)
    (d / 'Annotations' / '00002.xml').write_text('<annotation><object>')
    with pytest.raises(ValueError, match=r'malformed annotation file .*00002\.xml'):
        DATASETS.build(dict(type='DIORRSVGDataset', data_root=str(d)))
    (d / 'train.txt').write_text('0\nx\n')
    with pytest.raises(ValueError, match=r'malformed split file .*train\.txt'):
        DATASETS.build(dict(type='DIORRSVGDataset', data_root=str(d)))


def test_no_valid_sample(tmp_path):
    build_rrsisd_txt(tmp_path)
    (tmp_path / 'phrase_txts' / 'test_mbr.txt').write_text('0003 1 1 4 4 ghost\n')
    with pytest.raises(ValueError, match=r'test_mbr\.txt\): no valid sample'):
        DATASETS.build(dict(type='RRSISDTxtDataset', data_root=str(tmp_path), split='test_mbr',
                            validate_masks=True))


def test_mask_size_mismatch_names_file(tmp_path):
    build_phrase_json(tmp_path)
    write_mask(osp.join(tmp_path, 'masks', '00001.png'), rect_mask(2, 2, 9, 9, h=20, w=20))
    _, test_pipe = pipelines()
    ds = DATASETS.build(dict(type='RefDIORDataset', data_root=str(tmp_path), test_mode=True,
                             pipeline=test_pipe))
    with pytest.raises(ValueError, match=r'masks/00001\.png has size \(20, 20\)'):
        ds[0]
    # validated at init, the same file is one skipped, named record (the rest still loads)
    ds = DATASETS.build(dict(type='RefDIORDataset', data_root=str(tmp_path), test_mode=True,
                             validate_masks=True))
    reason = 'unreadable mask or mask size differs from the image'
    assert ds.skip_counts[reason] == 1
    assert ds.skip_examples[reason] == ['images/00001.jpg (ref 00001)']
    assert ds.skip_examples['bbox outside the image'] == ['images/00003.jpg (ref 00003)']
    assert {ds.get_data_info(i)['img_id'] for i in range(len(ds))} == {'00004'}


def test_bad_lazy_mask_skipped_in_training(tmp_path, warnings_log):
    build_refsegrs(tmp_path)
    train_pipe, _ = pipelines()
    train_pipe[1] = dict(type='LoadRECSAnnotations', on_bad_mask='skip')
    ds = DATASETS.build(dict(type='RefSegRSDataset', data_root=str(tmp_path), pipeline=train_pipe))
    assert len(ds) == 2  # not validated at init
    for _ in range(3):
        out = ds[1]  # id 2 has an empty mask: another sample is fetched instead
        assert out['data_samples'].metainfo['img_path'].endswith('1.tif')
    msgs = [r.getMessage() for r in warnings_log]
    assert len(msgs) == 1 and 'masks/2.tif: mask has 0 object pixel' in msgs[0]
