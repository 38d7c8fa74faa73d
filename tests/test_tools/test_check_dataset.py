"""tools/misc/check_dataset.py on tiny datasets of every on-disk format, with planted faults."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from mmengine.registry import init_default_scope
from tool_runner import REPO

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', 'test_datasets'))
from recs_data_builders import (H, W, build_dior_rsvg, build_phrase_json,  # noqa: E402
                                build_refcoco, build_refsegrs, build_rrsisd_refer, build_rrsisd_txt,
                                rect_mask, write_image, write_mask)

from recs4r_mm.datasets.dataset_report import (build_token_counter, check_config,  # noqa: E402
                                               classify_box, format_report, histogram)
from recs4r_mm.utils import load_tool_config  # noqa: E402

VOCAB = osp.join(REPO, 'configs', '_base_', 'models', 'recs4r_tiny_vocab.txt')
META = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'text', 'box_only')


def _pipelines(size):
    train = [dict(type='LoadImageFromFile'),
             dict(type='LoadRECSAnnotations', with_bbox=True, with_mask=True),
             dict(type='CleanText'),
             dict(type='Resize', scale=size, keep_ratio=False),
             dict(type='PackDetInputs', meta_keys=META)]
    test = [dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=size, keep_ratio=False),
            dict(type='LoadRECSAnnotations', with_bbox=True, with_mask=True),
            dict(type='PackDetInputs', meta_keys=META)]
    return train, test


def _config(path, train=None, val=None, test=None, size=(W, H), max_tokens=8,
            vocab=VOCAB):
    """A config with a model (budget: 64 vertices, max_len 80 -> 16 contours; BERT vocab,
    ``max_tokens``) and the given datasets (``test`` may be ``'val'``: the same dict)."""
    model = dict(type='RECS4R',
                 sequence_coder=dict(type='ContourSequenceCoder', num_vertices=64,
                                     with_holes=True),
                 head=dict(type='LUCDPHead', max_len=80),
                 text_encoder=dict(type='BertTextEncoder', name_or_path=None, vocab_file=vocab,
                                   max_tokens=max_tokens))
    train_pipe, test_pipe = _pipelines(size)
    lines = ["default_scope = 'mmdet'", f'model = {model!r}']
    if train is not None:
        lines.append(f'train_dataloader = dict(batch_size=1, dataset='
                     f'{dict(train, pipeline=train_pipe)!r})')
    if val is not None:
        lines.append(f'val_dataloader = dict(batch_size=1, dataset='
                     f'{dict(val, test_mode=True, pipeline=test_pipe)!r})')
    if test == 'val':
        lines.append('test_dataloader = val_dataloader')
    elif test is not None:
        lines.append(f'test_dataloader = dict(batch_size=1, dataset='
                     f'{dict(test, test_mode=True, pipeline=test_pipe)!r})')
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def _check(cfg_path, split='train', **kwargs):
    cfg = load_tool_config(cfg_path)
    init_default_scope(cfg.default_scope)
    report = check_config(cfg, split, progress=False, **kwargs)
    assert format_report(report)  # the text form renders every section
    return report


def test_helpers():
    mask = rect_mask(10, 5, 30, 25)  # pixel box [10, 5, 30, 25]
    assert classify_box([10, 5, 30, 25], mask)[0] == 'agree'
    assert classify_box([10, 5, 29, 24], mask)[0] == 'agree'  # inclusive x2/y2 convention
    assert classify_box([10, 5, 20, 20], mask)[0] == 'xywh_read_as_xyxy'
    assert classify_box([10, 5, 40, 30], mask)[0] == 'xyxy_read_as_xywh'
    assert classify_box([0, 0, 8, 8], mask)[0] == 'disagree'
    assert histogram([1, 1, 2, 4, 30, 51], ((1, 1), (2, 2), (3, 5), (6, 50), (51, None))) == {
        '1': 2, '2': 1, '3-5': 1, '6-50': 1, '>50': 1}
    count, what, fallback = build_token_counter(dict(vocab_file=VOCAB))
    assert not fallback and count(['left building']) == [4]  # [CLS] left building [SEP]
    count, what, fallback = build_token_counter(dict(vocab_file='/nonexistent/vocab.txt'))
    assert fallback and 'whitespace' in what and 'not found' in what
    assert count(['the small roof']) == [5]


def test_phrase_json_budget_and_text(tmp_path):
    """RefDIOR phrase json: skipped records named, a 30-blob mask the budget rule reduces
    (Fill IoU < 1, the worst record named), an expression over max_tokens."""
    root = build_phrase_json(tmp_path / 'refdior')
    blobs = np.zeros((H, W), bool)
    for y in range(1, H, 8):  # 5 rows x 6 columns = 30 separate 3x3 blobs
        for x in range(1, W, 8):
            blobs[y:y + 3, x:x + 3] = True
    write_image(osp.join(root, 'images', '00006.jpg'), seed=6)
    write_mask(osp.join(root, 'masks', '00006.png'), blobs)
    ann = osp.join(root, 'phrase_txts', 'train.json')
    with open(ann) as f:
        recs = json.load(f)
    recs['00006'] = dict(bbox=[1, 1, 44, 36], sentences=['the tanks on the left'])
    long_text = 'the small roof of the building near the road on the left side'  # 18 tokens
    recs['00001']['sentences'].append(long_text)
    with open(ann, 'w') as f:
        json.dump(recs, f)
    ds = dict(type='RefDIORDataset', data_root=str(root), validate_masks=True)
    cfg = _config(tmp_path / 'cfg.py', train=ds, size=(2 * W, 2 * H))
    rep = _check(cfg)['splits']['train']

    assert (rep['samples'], rep['refs'], rep['images'], rep['expressions']) == (3, 3, 3, 5)
    sk = rep['skipped']
    assert sk['by_reason'] == {'bbox outside the image': 1, 'empty or degenerate mask': 2,
                               'empty expression': 1}
    assert sk['examples']['empty or degenerate mask'] == [
        'images/00002.jpg (ref 00002)', 'images/00005.jpg (ref 00005)']
    assert sk['examples']['bbox outside the image'] == ['images/00003.jpg (ref 00003)']
    assert sk['examples']['empty expression'] == ['images/00004.jpg (ref 00004)']
    assert rep['load_errors']['count'] == 0 and rep['size_mismatch']['count'] == 0
    assert (rep['boxes']['compared'], rep['boxes']['agree']) == (3, 3)

    bud = rep['budget']
    assert bud['max_contours'] == 16 and bud['encode_sizes'] == {f'{2 * H}x{2 * W}': 3}
    assert bud['parts_hist']['1'] == 2 and bud['parts_hist']['21-50'] == 1
    assert bud['holes_hist']['0'] == 3
    assert (bud['targets'], bud['reduced']) == (3, 1)
    assert bud['reduced_examples'][0].startswith('images/00006.jpg (ref 00006): 30 part(s)')
    red, all_ = bud['fill_iou_reduced'], bud['fill_iou_all']
    assert red['count'] == 1 and red['worst_record'] == 'images/00006.jpg (ref 00006)'
    assert 0.3 < red['worst'] < 0.8  # 16 of 30 equal blobs kept
    assert all_['worst_record'] == 'images/00006.jpg (ref 00006)'
    assert all_['worst'] == red['worst'] and all_['mean'] > red['worst']

    txt = rep['text']
    assert txt['max_tokens'] == 8 and txt['expressions'] == 5 and txt['longest'] == 18
    assert txt['cut'] == 1 and long_text in txt['cut_examples'][0]
    assert txt['cut_examples'][0].startswith('images/00001.jpg (ref 00001)')

    rep = _check(cfg, max_records=1)['splits']['train']
    assert rep['checked_refs'] == 1 and rep['refs'] == 3 and rep['text']['expressions'] == 3


def test_refer_layout_xywh_read_as_xyxy_cli(tmp_path):
    """RefCOCO refer layout (COCO xywh boxes) read with bbox_format='xyxy': most boxes disagree
    -> exit 1; an image whose file is larger than its json entry; skipped refs named."""
    root = build_refcoco(tmp_path / 'refer')
    write_image(osp.join(root, 'train2014', 'COCO_001.jpg'), seed=1, h=H + 4)
    ds = dict(type='ReferDataset', data_root=str(root), split='train', bbox_format='xyxy')
    cfg = _config(tmp_path / 'cfg.py', train=ds)
    out = tmp_path / 'reports' / 'report.json'
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'misc', 'check_dataset.py'),
                           cfg, '--out', str(out)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert '2 look like xywh read as xyxy' in proc.stdout
    assert 'boxes disagree with their masks' in proc.stdout
    report = json.loads(out.read_text())
    assert list(out.parent.iterdir()) == [out]  # no temp file left
    rep = report['splits']['train']
    assert (rep['samples'], rep['refs'], rep['images'], rep['expressions']) == (2, 2, 2, 3)
    # xywh [30, 10, 10, 10] and [100, 100, 20, 20] read as xyxy are degenerate
    assert rep['skipped']['by_reason'] == {'degenerate bbox': 2, 'empty or degenerate mask': 1,
                                           'empty expression': 1}
    assert rep['skipped']['examples'] == {
        'degenerate bbox': ['train2014/COCO_001.jpg (ref 2)', 'train2014/COCO_003.jpg (ref 5)'],
        'empty or degenerate mask': ['train2014/COCO_002.jpg (ref 3)'],
        'empty expression': ['train2014/COCO_002.jpg (ref 4)']}
    b = rep['boxes']
    assert (b['compared'], b['agree'], b['xywh_read_as_xyxy']) == (2, 0, 2)
    assert rep['size_mismatch']['count'] == 1
    assert rep['size_mismatch']['examples']['image size differs'] == [
        f'train2014/COCO_001.jpg (ref 1): image {H + 4}x{W} (HxW), height/width {H}x{W}']
    assert len(report['problems']) == 1 and report['problems'][0].startswith('train: 2 of 2')


def test_rrsisd_refer_xyxy_read_as_xywh_and_dedup(tmp_path):
    """RRSIS-D refer layout (xyxy boxes, RLE masks) read as xywh; val and test the same dict."""
    root = build_rrsisd_refer(tmp_path / 'rrsisd')
    train = dict(type='RRSISDDataset', data_root=str(root), split='train', bbox_format='xywh')
    val = dict(type='RRSISDDataset', data_root=str(root), split='test', bbox_format='xywh')
    report = _check(_config(tmp_path / 'cfg.py', train=train, val=val, test='val'), 'all')
    assert list(report['splits']) == ['train', 'val=test']
    tr, te = report['splits']['train'], report['splits']['val=test']
    assert tr['skipped']['examples'] == {
        'empty or degenerate mask': ['images/rrsisd/JPEGImages/00002.jpg (ref 2)']}
    assert (tr['boxes']['compared'], tr['boxes']['xyxy_read_as_xywh']) == (1, 1)
    assert (te['boxes']['compared'], te['boxes']['agree']) == (1, 1)  # [0, 0, 10, 10]: both
    assert len(report['problems']) == 1 and report['problems'][0].startswith('train: 1 of 1')


def test_rrsisd_txt_size_mismatch_and_load_errors(tmp_path):
    """RRSIS-D txt layout: an image larger than its mask, an empty mask found when loaded, a
    malformed line and an empty expression, both named."""
    root = build_rrsisd_txt(tmp_path / 'rrsisd_txt')
    write_image(osp.join(root, 'images', '0002.jpg'), seed=2, h=H + 4)
    cfg = _config(tmp_path / 'cfg.py', train=dict(type='RRSISDTxtDataset', data_root=str(root)))
    rep = _check(cfg)['splits']['train']
    assert (rep['refs'], rep['expressions']) == (3, 4)
    assert rep['skipped']['by_reason'] == {'malformed line': 1, 'empty expression': 1}
    assert rep['skipped']['examples'] == {'empty expression': ['images/0002.jpg (ref 0002)'],
                                          'malformed line': ['phrase_txts/trainval_mbr.txt:5']}
    assert rep['size_mismatch']['examples']['image size differs'] == [
        f'images/0002.jpg (ref 0002): image {H + 4}x{W} (HxW), mask file {H}x{W}']
    le = rep['load_errors']
    assert le['count'] == 2 and le['by_reason'] == {'ValueError': 2}
    assert [e.split(':')[0] for e in le['examples']['ValueError']] == [
        'images/0002.jpg (ref 0002)', 'images/0003.jpg (ref 0003)']
    assert (rep['boxes']['compared'], rep['boxes']['agree']) == (1, 1)
    assert rep['budget']['targets'] == 1


def test_refsegrs_threshold_and_derived_boxes(tmp_path):
    """RefSegRS: boxes come from the masks (not compared), object = value > 50 (the grey 40
    corner is background, else there would be 2 parts), an all-below-threshold mask fails."""
    root = build_refsegrs(tmp_path / 'refsegrs')
    cfg = _config(tmp_path / 'cfg.py', train=dict(type='RefSegRSDataset', data_root=str(root)))
    rep = _check(cfg)['splits']['train']
    assert (rep['refs'], rep['expressions'], rep['skipped']['count']) == (2, 3, 0)
    assert rep['load_errors']['count'] == 1
    assert 'masks/2.tif' in rep['load_errors']['examples']['ValueError'][0]
    assert rep['boxes']['compared'] == 0 and rep['boxes']['not_compared']['derived_from_mask'] == 1
    assert rep['budget']['parts_hist']['1'] == 1 and rep['budget']['targets'] == 1


def test_dior_rsvg_box_only_and_empty_split(tmp_path):
    """DIOR-RSVG: box-only targets (not compared, not encoded), an image larger than its XML
    size, a val split whose only object has no description -> empty split, exit 1."""
    root = build_dior_rsvg(tmp_path / 'rsvg')
    write_image(osp.join(root, 'JPEGImages', '00001.jpg'), seed=0, h=H + 4)
    (root / 'val.txt').write_text('3\n')
    ds = dict(type='DIORRSVGDataset', data_root=str(root))
    cfg = _config(tmp_path / 'cfg.py', train=dict(ds, split='train'),
                  val=dict(ds, split='val'), test=dict(ds, split='test'))
    report = _check(cfg, 'all')
    tr, va, te = (report['splits'][k] for k in ('train', 'val', 'test'))
    assert tr['samples'] == 2 and tr['skipped']['by_reason'] == {
        'empty expression': 1, 'ref without a valid expression': 1}
    assert tr['skipped']['examples']['ref without a valid expression'] == [
        'JPEGImages/00002.jpg (ref 3)']
    assert tr['boxes']['not_compared']['box_only'] == 2 and tr['boxes']['compared'] == 0
    assert tr['budget']['box_only'] == 2 and tr['budget']['targets'] == 0
    assert tr['size_mismatch']['examples']['image size differs'] == [
        f'JPEGImages/00001.jpg (ref 0): image {H + 4}x{W} (HxW), height/width {H}x{W}']
    assert va['samples'] == 0 and 'no valid sample' in va['error']
    assert va['skipped']['examples']['ref without a valid expression'] == [
        'JPEGImages/00002.jpg (ref 3)']
    assert te['samples'] == 1
    assert len(report['problems']) == 1 and report['problems'][0].startswith('val: ValueError')


def test_synthetic_clean(tmp_path):
    """The synthetic set (generated): no problem, every box agrees."""
    ds = dict(type='SyntheticRefRSDataset', data_root=str(tmp_path / 'syn'), split='train',
              generator=dict(num_images=8, image_size=64, seed=1), img_suffix='.png')
    val = dict(ds, split='val')
    report = _check(_config(tmp_path / 'cfg.py', train=ds, val=val, test='val',
                            size=(64, 64), max_tokens=20), 'all')
    assert report['problems'] == [] and list(report['splits']) == ['train', 'val=test']
    rep = report['splits']['train']
    assert rep['samples'] > 0 and rep['boxes']['agree'] == rep['boxes']['compared'] == rep['refs']
    assert rep['budget']['targets'] == rep['refs']


def test_missing_split_or_data_is_an_error(tmp_path):
    root = build_rrsisd_txt(tmp_path / 'rrsisd_txt')
    cfg = _config(tmp_path / 'cfg.py', train=dict(type='RRSISDTxtDataset', data_root=str(root)))
    with pytest.raises(KeyError, match='val_dataloader'):
        _check(cfg, 'val')
    missing = str(tmp_path / 'nowhere')
    cfg = _config(tmp_path / 'cfg2.py', train=dict(type='RRSISDTxtDataset', data_root=missing))
    report = _check(cfg)
    assert report['problems'] == [
        f'train: FileNotFoundError: data_root directory not found: {missing}']
