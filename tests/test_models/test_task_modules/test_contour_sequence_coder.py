"""ContourSequenceCoder: targets in, Rect/Fill out, for both sequence formats."""
import numpy as np
import pytest
import torch

from recs4r_mm.models.task_modules import ContourSequenceCoder
from recs4r_mm.structures import TOKEN_COORD, TOKEN_SEP, TOKEN_START, mask_iou


def _masks():
    rect = np.zeros((32, 40), bool)
    rect[4:20, 6:30] = True
    two = np.zeros((32, 40), bool)
    two[2:8, 2:10] = True
    two[20:30, 25:38] = True
    two[23:26, 29:33] = False  # a hole in the second part
    return np.stack([rect, two])


@pytest.mark.parametrize('seq_format', ['contour', 'box_polygon'])
def test_encode_rect_decode_round_trip(seq_format):
    coder = ContourSequenceCoder(num_vertices=24, seq_format=seq_format, max_len=40)
    masks = _masks()
    boxes = np.array([[6, 4, 30, 20], [2, 2, 38, 30]], np.float32)
    tokens, coords, weights = coder.encode(masks, boxes, np.zeros(2, bool), (32, 40),
                                           ['a', 'b'])
    assert torch.equal(weights, torch.ones(2))
    assert (tokens[:, 0] == TOKEN_START).all()
    if seq_format == 'box_polygon':  # START, corner, corner, SEP, contour...
        assert tokens[0, 1:4].tolist() == [TOKEN_COORD, TOKEN_COORD, TOKEN_SEP]
    norm = torch.tensor([40.0, 32.0, 40.0, 32.0])
    # Rect of the targets (with START, as decoded; or without, as teacher-forced) = GT box
    for t, c in ((tokens, coords), (tokens[:, 1:], coords[:, 1:])):
        assert torch.allclose(coder.rect(t, c) * norm, torch.from_numpy(boxes), atol=1e-4)
    for i, m in enumerate(masks):
        parts, box, fill = coder.decode(tokens[i], coords[i], (32, 40))
        assert np.allclose(box, boxes[i], atol=1e-4)
        # the box fills back exactly; the two parts and the hole share 24 vertices: measured
        # 6 of 168 pixels off (IoU 0.964), the hole kept
        assert mask_iou(fill, m) == (1.0 if i == 0 else pytest.approx(0.9643, abs=1e-3))
        assert [len(p['holes']) for p in parts] == ([0] if i == 0 else [0, 1])
    # the same sequence decoded at another size: Fill/Rect scale, nothing else changes
    parts, box, fill = coder.decode(tokens[0], coords[0], (64, 80))
    assert np.allclose(box, boxes[0] * 2, atol=1e-4) and fill.sum() == masks[0].sum() * 4


def test_empty_sequence_reads_as_the_whole_image_and_weights():
    coder = ContourSequenceCoder(num_vertices=12, max_len=20)
    tokens = torch.tensor([[TOKEN_START, 3, -1, -1]])
    assert coder.rect(tokens, torch.zeros(1, 4, 2)).tolist() == [[0.0, 0.0, 1.0, 1.0]]
    # an empty mask falls back to its box; no box either: weight 0
    with pytest.warns(UserWarning, match='empty/degenerate GT mask'):
        _, _, w = coder.encode(np.zeros((2, 16, 16), bool),
                               np.array([[2, 2, 8, 8], [3, 3, 3, 9]], np.float32),
                               np.zeros(2, bool), (16, 16), ['a', 'b'])
    assert w.tolist() == [1.0, 0.0]


def test_config_and_bad_options():
    cfg = dict(head=dict(max_len=40),
               sequence_coder=dict(type='ContourSequenceCoder', num_vertices=32,
                                   budget=dict(min_part_pixels=5)))
    coder = ContourSequenceCoder.from_model_cfg(cfg)
    assert (coder.num_vertices, coder.budget.max_len, coder.budget.max_contours,
            coder.budget.min_part_pixels) == (32, 40, 8, 5)
    with pytest.raises(ValueError, match='unknown keys'):
        ContourSequenceCoder(budget=dict(min_parts=3))
    with pytest.raises(ValueError, match='seq_format'):
        ContourSequenceCoder(seq_format='mask')
