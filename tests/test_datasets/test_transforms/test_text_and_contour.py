"""CleanText and ContourTarget."""
import numpy as np
import pytest
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks

from recs4r_mm.datasets.transforms import CleanText, ContourTarget
from recs4r_mm.structures import (TOKEN_COORD, TOKEN_END, TOKEN_HOLE, TOKEN_START, sequence_to_box,
                                  sequence_to_mask)


def test_clean_text():
    out = CleanText()(dict(text='  The  BIG,   tank\n'))
    assert out['text'] == 'the big, tank'
    out = CleanText(lower=False, strip_punctuation=True, max_words=2)(dict(text='The BIG, tank'))
    assert out['text'] == 'The BIG'
    with pytest.raises(ValueError, match='empty expression for a.jpg'):
        CleanText(strip_punctuation=True)(dict(text=' ,. ', img_path='a.jpg'))


def test_contour_target_mask_with_hole_and_box_only():
    m = np.zeros((1, 30, 40), np.uint8)
    m[0, 5:25, 5:35] = 1
    m[0, 10:20, 15:25] = 0
    res = dict(gt_masks=BitmapMasks(m, 30, 40), img_shape=(30, 40), box_only=False,
               gt_bboxes=HorizontalBoxes(np.array([[5., 5., 35., 25.]], np.float32)))
    out = ContourTarget(num_vertices=32)(res)
    tokens, coords = out['gt_tokens'], out['gt_coords']
    assert tokens[0] == TOKEN_START and tokens[-1] == TOKEN_END
    assert (tokens == TOKEN_COORD).sum() == 32 and (tokens == TOKEN_HOLE).sum() == 1
    assert np.array_equal(sequence_to_mask(tokens, coords, (30, 40)), m[0].astype(bool))
    out = ContourTarget(num_vertices=32, with_holes=False)(dict(res))
    assert (out['gt_tokens'] == TOKEN_HOLE).sum() == 0
    box = dict(box_only=True, img_shape=(30, 40),
               gt_bboxes=HorizontalBoxes(np.array([[2., 3., 12., 9.]], np.float32)))
    out = ContourTarget(num_vertices=8)(box)
    np.testing.assert_allclose(sequence_to_box(out['gt_tokens'], out['gt_coords'], (30, 40)),
                               [2, 3, 12, 9], atol=1e-4)
    # a mask that vanished when resized falls back to the box
    vanished = dict(gt_masks=BitmapMasks(np.zeros((1, 5, 5), np.uint8), 5, 5), img_shape=(5, 5),
                    gt_bboxes=HorizontalBoxes(np.array([[1., 1., 1.5, 2.]], np.float32)))
    out = ContourTarget(num_vertices=8)(vanished)
    np.testing.assert_allclose(sequence_to_box(out['gt_tokens'], out['gt_coords'], (5, 5)),
                               [1, 1, 1.5, 2], atol=1e-5)
    empty = dict(gt_masks=BitmapMasks(np.zeros((1, 5, 5), np.uint8), 5, 5), img_shape=(5, 5),
                 img_path='x.png', text='a thing',
                 gt_bboxes=HorizontalBoxes(np.array([[1., 1., 1., 2.]], np.float32)))
    with pytest.raises(ValueError, match="empty mask and no box .*x.png, text='a thing'"):
        ContourTarget()(empty)
