"""Builders of tiny datasets in every on-disk RECS format (written into a tmp dir by the tests)."""
import json
import os
import os.path as osp
import pickle

import cv2
import numpy as np
import pycocotools.mask as mask_utils

H, W = 40, 48  # non-square on purpose


def write_image(path, seed=0, h=H, w=W):
    os.makedirs(osp.dirname(path), exist_ok=True)
    img = np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)
    assert cv2.imwrite(path, img), path


def write_mask(path, mask, value=255):
    os.makedirs(osp.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, mask.astype(np.uint8) * value), path


def rect_mask(x1, y1, x2, y2, h=H, w=W):
    m = np.zeros((h, w), bool)
    m[y1:y2, x1:x2] = True
    return m


def rle_of(mask):
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle['counts'] = rle['counts'].decode()
    return rle


def _refer_files(root, sub, img_dir, anns, refs, images):
    os.makedirs(osp.join(root, sub), exist_ok=True)
    for img in images:
        write_image(osp.join(root, img_dir, img['file_name']), seed=img['id'])
    coco = dict(images=images, annotations=anns,
                categories=[dict(id=1, name='airplane'), dict(id=2, name='ship')])
    with open(osp.join(root, sub, 'instances.json'), 'w') as f:
        json.dump(coco, f)
    return coco


def build_refcoco(root):
    """RefCOCO refer layout: refs(unc).p + COCO instances.json with polygons (bbox xywh).

    train: ref 1 (2 sentences, L-shaped polygon), ref 2 (square), ref 3 (empty polygon: bad),
    ref 4 (one empty sentence + one good), ref 5 (bbox outside the image: bad);
    val: ref 6.
    """
    images = [dict(id=i, file_name=f'COCO_{i:03d}.jpg', height=H, width=W) for i in (1, 2, 3)]
    l_poly = [[5, 5, 20, 5, 20, 12, 12, 12, 12, 30, 5, 30]]
    anns = [
        dict(id=11, image_id=1, category_id=1, segmentation=l_poly, bbox=[5, 5, 15, 25]),
        dict(id=12, image_id=1, category_id=2, segmentation=[[30, 10, 40, 10, 40, 20, 30, 20]],
             bbox=[30, 10, 10, 10]),
        dict(id=13, image_id=2, category_id=1, segmentation=[[1, 1, 1, 1, 1, 1]],
             bbox=[1, 1, 0, 0]),
        dict(id=14, image_id=2, category_id=2, segmentation=[[10, 10, 30, 10, 30, 30, 10, 30]],
             bbox=[10, 10, 20, 20]),
        dict(id=15, image_id=3, category_id=2, segmentation=[[10, 10, 30, 10, 30, 30, 10, 30]],
             bbox=[100, 100, 20, 20]),
        dict(id=16, image_id=3, category_id=1, segmentation=[[2, 2, 22, 2, 22, 16, 2, 16]],
             bbox=[2, 2, 20, 14]),
    ]

    def sents(*texts, base=0):
        return [dict(raw=t, sent=t.lower(), sent_id=base + i, tokens=t.split())
                for i, t in enumerate(texts)]

    refs = [
        dict(ref_id=1, ann_id=11, image_id=1, split='train', category_id=1,
             sentences=sents('The L shaped plane', 'left plane', base=100)),
        dict(ref_id=2, ann_id=12, image_id=1, split='train', category_id=2,
             sentences=sents('right ship', base=200)),
        dict(ref_id=3, ann_id=13, image_id=2, split='train', category_id=1,
             sentences=sents('nothing here', base=300)),
        dict(ref_id=4, ann_id=14, image_id=2, split='train', category_id=2,
             sentences=sents('   ', 'the big ship', base=400)),
        dict(ref_id=5, ann_id=15, image_id=3, split='train', category_id=2,
             sentences=sents('outside ship', base=500)),
        dict(ref_id=6, ann_id=16, image_id=3, split='val', category_id=1,
             sentences=sents('top plane', 'the plane at the top', base=600)),
    ]
    _refer_files(root, 'refcoco', 'train2014', anns, refs, images)
    with open(osp.join(root, 'refcoco', 'refs(unc).p'), 'wb') as f:
        pickle.dump(refs, f)
    return root


def build_rrsisd_refer(root):
    """RRSIS-D refer layout: segmentation = [RLE dict], bbox xyxy, key ``categories_id``."""
    images = [dict(id=i, file_name=f'{i:05d}.jpg', height=H, width=W) for i in (1, 2)]
    good = rect_mask(8, 6, 30, 20)
    empty = np.zeros((H, W), bool)
    anns = [
        dict(id=21, image_id=1, categories_id=2, segmentation=[rle_of(good)],
             bbox=[8, 6, 30, 20]),
        dict(id=22, image_id=2, categories_id=1, segmentation=[rle_of(empty)],
             bbox=[1, 1, 5, 5]),
        dict(id=23, image_id=2, categories_id=1, segmentation=[rle_of(rect_mask(0, 0, 10, 10))],
             bbox=[0, 0, 10, 10]),
    ]
    refs = [
        dict(ref_id=1, ann_id=21, image_id=1, split='train',
             sentences=[dict(raw='a ship', sent='a ship', sent_id=1)]),
        dict(ref_id=2, ann_id=22, image_id=2, split='train',
             sentences=[dict(raw='no object', sent='no object', sent_id=2)]),
        dict(ref_id=3, ann_id=23, image_id=2, split='test',
             sentences=[dict(raw='corner plane', sent='corner plane', sent_id=3)]),
    ]
    _refer_files(root, 'rrsisd', 'images/rrsisd/JPEGImages', anns, refs, images)
    with open(osp.join(root, 'rrsisd', 'refs(unc).p'), 'wb') as f:
        pickle.dump(refs, f)
    return root


def build_phrase_json(root, img_suffix='.jpg', split='train'):
    """RefDIOR phrase json: 00001 good (2 sentences), 00002 empty mask (bad), 00003 bbox
    outside (bad), 00004 one empty sentence + one good, 00005 degenerate 2-pixel mask (bad)."""
    masks = {
        '00001': rect_mask(4, 4, 20, 16),
        '00002': np.zeros((H, W), bool),
        '00003': rect_mask(10, 10, 20, 20),
        '00004': rect_mask(25, 5, 45, 35),
        '00005': rect_mask(3, 3, 5, 4),
    }
    recs = {
        '00001': dict(bbox=[4, 4, 20, 16], sentences=['the small roof', 'left building']),
        '00002': dict(bbox=[1, 1, 5, 5], sentences=['nothing']),
        '00003': dict(bbox=[10, 10, 90, 20], sentences=['outside']),
        '00004': dict(bbox=[25, 5, 45, 35], sentences=['', 'the tall tank on the right']),
        '00005': dict(bbox=[3, 3, 5, 4], sentences=['tiny dot']),
    }
    for i, (rid, m) in enumerate(masks.items()):
        write_image(osp.join(root, 'images', rid + img_suffix), seed=i)
        write_mask(osp.join(root, 'masks', rid + '.png'), m)
    os.makedirs(osp.join(root, 'phrase_txts'), exist_ok=True)
    with open(osp.join(root, 'phrase_txts', f'{split}.json'), 'w') as f:
        json.dump(recs, f)
    return root


def build_rrsisd_txt(root):
    """RRSIS-D RECS variant: phrase_txts/{trainval,test}_mbr.txt lines '<id> x1 y1 x2 y2 expr'."""
    masks = {'0001': rect_mask(5, 5, 25, 15), '0002': rect_mask(20, 10, 40, 30),
             '0003': np.zeros((H, W), bool)}
    for i, (rid, m) in enumerate(masks.items()):
        write_image(osp.join(root, 'images', rid + '.jpg'), seed=i)
        write_mask(osp.join(root, 'masks', rid + '.png'), m)
    os.makedirs(osp.join(root, 'phrase_txts'), exist_ok=True)
    with open(osp.join(root, 'phrase_txts', 'trainval_mbr.txt'), 'w') as f:
        f.write('0001 5 5 25 15 the gray bridge on the left\n'
                '0001 5 5 25 15 a bridge\n'
                '0002 20 10 40 30 the vehicle at the bottom right\n'
                '0003 1 1 4 4 ghost object\n'
                'garbage line\n'
                '0002 20 10 40 30\n')
    with open(osp.join(root, 'phrase_txts', 'test_mbr.txt'), 'w') as f:
        f.write('0002 20 10 40 30 the right vehicle\n')
    return root


def build_refsegrs(root, split='train', phrase_dir=''):
    """RefSegRS: .tif images and masks (grey values; object > 50), output_phrase_{split}.txt
    at the root (original release) or under ``phrase_dir`` (``'phrase_txts'``: RSFM family).

    Ids: 1 good (2 sentences), 2 empty mask (every pixel <= 50: bad)."""
    m1 = np.zeros((H, W), np.uint8)
    m1[10:30, 6:22] = 255
    m1[0:5, 0:5] = 40  # below the threshold: background
    m2 = np.full((H, W), 30, np.uint8)  # all below threshold: empty mask
    for i, (rid, m) in enumerate((('1', m1), ('2', m2))):
        write_image(osp.join(root, 'images', rid + '.tif'), seed=i)
        os.makedirs(osp.join(root, 'masks'), exist_ok=True)
        assert cv2.imwrite(osp.join(root, 'masks', rid + '.tif'), m)
    os.makedirs(osp.join(root, phrase_dir), exist_ok=True)
    with open(osp.join(root, phrase_dir, f'output_phrase_{split}.txt'), 'w') as f:
        f.write('1 road along the river\n1 the long road\n2 a vehicle\n')
    return root


def build_rrsisd_rsfm(root, splits=('train', 'val', 'test')):
    """RRSIS-D, RSFM-family layout: phrase_txts/output_phrase_{split}.txt, '<id> <text>', no box.

    train: 0001 (2 sentences), 0002 '2 ships near the dock' (starts with a number),
    0003 '12 34 10 50 planes' (4 numbers, but x2 < x1: not a box), 0004 empty mask (bad).
    val / test: one line each (0002 / 0001).
    """
    masks = {'0001': rect_mask(5, 5, 25, 15), '0002': rect_mask(20, 10, 40, 30),
             '0003': rect_mask(2, 20, 12, 38), '0004': np.zeros((H, W), bool)}
    for i, (rid, m) in enumerate(masks.items()):
        write_image(osp.join(root, 'images', rid + '.jpg'), seed=i)
        write_mask(osp.join(root, 'masks', rid + '.png'), m)
    lines = dict(
        train='0001 the gray bridge on the left\n'
              '0001 a bridge\n'
              '0002 2 ships near the dock\n'
              '0003 12 34 10 50 planes\n'
              '0004 ghost object\n',
        val='0002 the vehicle at the bottom right\n',
        test='0001 the bridge\n')
    os.makedirs(osp.join(root, 'phrase_txts'), exist_ok=True)
    for split in splits:
        with open(osp.join(root, 'phrase_txts', f'output_phrase_{split}.txt'), 'w') as f:
            f.write(lines.get(split, lines['test']))
    return root


def build_refer_splits(root, name='refcoco', refs_file='refs(unc).p',
                       splits=('train', 'val', 'testA', 'testB'), img_dir='train2014',
                       bbox_format='xywh'):
    """A minimal refer-layout dataset with one valid ref per split name.

    Writes ``{name}/{refs_file}``, ``{name}/instances.json`` (square polygon masks) and one
    image per split under ``img_dir``; e.g. ``name='rrsisd', img_dir='images/rrsisd/JPEGImages',
    bbox_format='xyxy', splits=('train', 'val', 'test')`` for RRSIS-D.
    """
    images, anns, refs = [], [], []
    for i, split in enumerate(splits, 1):
        x1, y1, x2, y2 = 4 + i, 6, 24 + i, 30
        images.append(dict(id=i, file_name=f'{name}_{i:03d}.jpg', height=H, width=W))
        box = [x1, y1, x2 - x1, y2 - y1] if bbox_format == 'xywh' else [x1, y1, x2, y2]
        anns.append(dict(id=100 + i, image_id=i, category_id=1, bbox=box,
                         segmentation=[[x1, y1, x2, y1, x2, y2, x1, y2]]))
        refs.append(dict(ref_id=i, ann_id=100 + i, image_id=i, split=split, category_id=1,
                         sentences=[dict(raw=f'the {split} plane', sent=f'the {split} plane',
                                         sent_id=i)]))
    _refer_files(root, name, img_dir, anns, refs, images)
    with open(osp.join(root, name, refs_file), 'wb') as f:
        pickle.dump(refs, f)
    return root


def build_dior_rsvg(root):
    """DIOR-RSVG: 2 xml files, objects 0..3; train = {0, 2, 3}; object 3 has no description."""
    objs = {
        '00001.xml': [('vehicle', (2, 3, 12, 11), 'the vehicle on the top left'),
                      ('ship', (20, 20, 30, 35), 'ship in the middle')],
        '00002.xml': [('dam', (5, 5, 40, 30), 'the dam'), ('bridge', (1, 1, 9, 9), '')],
    }
    os.makedirs(osp.join(root, 'Annotations'), exist_ok=True)
    for i, (name, items) in enumerate(sorted(objs.items())):
        stem = osp.splitext(name)[0]
        write_image(osp.join(root, 'JPEGImages', stem + '.jpg'), seed=i)
        xml = [f'<annotation><filename>{stem}.jpg</filename>'
               f'<size><width>{W}</width><height>{H}</height><depth>3</depth></size>']
        for cls, (x1, y1, x2, y2), desc in items:
            xml.append(f'<object><name>{cls}</name><pose>Unspecified</pose><bndbox>'
                       f'<xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax>'
                       f'</bndbox><description>{desc}</description></object>')
        xml.append('</annotation>')
        with open(osp.join(root, 'Annotations', name), 'w') as f:
            f.write(''.join(xml))
    for split, idx in (('train', [0, 2, 3]), ('val', [1]), ('test', [1])):
        with open(osp.join(root, f'{split}.txt'), 'w') as f:
            f.write('\n'.join(map(str, idx)) + '\n')
    return root


def pipelines(size=(32, 32), contour=True):
    meta = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'text', 'box_only',
            'category', 'ref_id', 'sent_id')
    train = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadRECSAnnotations', with_bbox=True, with_mask=True),
        dict(type='Resize', scale=size, keep_ratio=False),
    ]
    if contour:
        train.append(dict(type='ContourTarget', num_vertices=16))
    train.append(dict(type='PackDetInputs', meta_keys=meta))
    test = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=size, keep_ratio=False),
        dict(type='LoadRECSAnnotations', with_bbox=True, with_mask=True),
        dict(type='PackDetInputs', meta_keys=meta),
    ]
    return train, test
