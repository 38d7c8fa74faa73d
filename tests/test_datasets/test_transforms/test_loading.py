"""LoadRECSAnnotations on every mask source."""
import os.path as osp

import cv2
import numpy as np
import pytest
from mmdet.structures.bbox import HorizontalBoxes

from recs4r_mm.datasets.transforms import LoadRECSAnnotations

H, W = 20, 24


def _results(mask, bbox=None, box_only=False, **kw):
    r = dict(ori_shape=(H, W), img_path='img.jpg', box_only=box_only,
             instances=[dict(bbox=bbox, bbox_label=0, mask=mask, ignore_flag=0)])
    r.update(kw)
    return r


def _rect(x1, y1, x2, y2):
    m = np.zeros((H, W), np.uint8)
    m[y1:y2, x1:x2] = 1
    return m


def _rle(m):
    import pycocotools.mask as mu
    r = mu.encode(np.asfortranarray(m))
    r['counts'] = r['counts'].decode()
    return r


def test_polygon_rle_and_rrsisd_rle_list():
    t = LoadRECSAnnotations()
    poly = [[2, 3, 10, 3, 10, 9, 2, 9]]
    out = t(_results(poly, bbox=[2, 3, 10, 9]))
    m = out['gt_masks'].masks[0].astype(bool)
    assert m.shape == (H, W) and m[4:8, 3:9].all() and not m[12, 12]
    assert isinstance(out['gt_bboxes'], HorizontalBoxes)
    np.testing.assert_allclose(out['gt_bboxes'].numpy(), [[2, 3, 10, 9]])
    assert out['gt_bboxes_labels'].tolist() == [0] and out['gt_ignore_flags'].tolist() == [False]
    ref = _rect(3, 4, 15, 12)
    for ann in (_rle(ref), [_rle(ref)]):  # RLE dict, and RRSIS-D's list holding one RLE dict
        out = t(_results(ann, bbox=[3, 4, 15, 12]))
        assert np.array_equal(out['gt_masks'].masks[0], ref)
    # uncompressed RLE and no bbox: the box comes from the mask
    counts = []
    col = ref.T.reshape(-1)  # column-major
    v, n = 0, 0
    for x in col:
        if x == v:
            n += 1
        else:
            counts.append(n)
            v, n = x, 1
    counts.append(n)
    out = t(_results(dict(size=[H, W], counts=counts)))
    assert np.array_equal(out['gt_masks'].masks[0], ref)
    np.testing.assert_allclose(out['gt_bboxes'].numpy(), [[3, 4, 15, 12]])


def test_mask_files_png_tif_threshold(tmp_path):
    m = np.zeros((H, W), np.uint8)
    m[5:15, 4:20] = 200
    m[0:3, 0:3] = 40
    png, tif, rgb = (str(tmp_path / n) for n in ('m.png', 'm.tif', 'rgb.png'))
    cv2.imwrite(png, m)
    cv2.imwrite(tif, m)
    cv2.imwrite(rgb, np.dstack([m * 0, m, m * 0]))
    t = LoadRECSAnnotations()
    assert t(_results(png))['gt_masks'].masks[0].sum() == 10 * 16 + 9  # > 0: the 40s count
    out = t(_results(tif, mask_threshold=50))  # the dataset's threshold (RefSegRS: 50)
    assert out['gt_masks'].masks[0].sum() == 160
    np.testing.assert_allclose(out['gt_bboxes'].numpy(), [[4, 5, 20, 15]])
    assert LoadRECSAnnotations(mask_threshold=100)(_results(png))['gt_masks'].masks[0].sum() == 160
    assert t(_results(rgb, mask_threshold=50))['gt_masks'].masks[0].sum() == 160
    with pytest.raises(FileNotFoundError, match='mask file not found: .*nope.png'):
        t(_results(osp.join(str(tmp_path), 'nope.png')))
    (tmp_path / 'bad.png').write_bytes(b'garbage')
    with pytest.raises(OSError, match='cannot decode mask file .*bad.png'):
        t(_results(str(tmp_path / 'bad.png')))


def test_box_only_fills_box_and_bad_masks():
    t = LoadRECSAnnotations()
    out = t(_results(None, bbox=[2.0, 3.0, 10.0, 9.0], box_only=True))
    m = out['gt_masks'].masks[0]
    assert m.sum() == 8 * 6 and m[3:9, 2:10].all()
    with pytest.raises(ValueError, match='mask has 2 object pixel'):
        t(_results(_rle(_rect(0, 0, 2, 1))))
    skip = LoadRECSAnnotations(on_bad_mask='skip')
    assert skip(_results(_rle(_rect(0, 0, 1, 1)))) is None
    # bbox only (no masks) still works
    out = LoadRECSAnnotations(with_mask=False)(_results(None, bbox=[1, 1, 5, 5], box_only=True))
    assert 'gt_masks' not in out and out['gt_bboxes'].numpy().shape == (1, 4)
