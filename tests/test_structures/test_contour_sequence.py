"""Tests of the contour-sequence contract (recs4r_mm.structures)."""
import cv2
import numpy as np
import pytest
import torch

from recs4r_mm.structures import (NUM_TOKEN_CLASSES, TOKEN_COORD, TOKEN_END, TOKEN_HOLE, TOKEN_SEP,
                                  TOKEN_START, box_to_sequence, mask_or_box_to_sequence,
                                  mask_to_polygons, mask_to_sequence, pad_sequences,
                                  polygons_to_box, polygons_to_mask, polygons_to_sequence,
                                  resample_contour, sequence_to_box, sequence_to_mask,
                                  sequence_to_polygons, signed_area)


def _iou(a, b):
    u = np.logical_or(a, b).sum()
    return np.logical_and(a, b).sum() / u if u else 0.0


def _box(mask):
    ys, xs = np.nonzero(mask)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=np.float64)


def shape_families():
    """Masks of each shape family the round trip must handle (name -> (H, W) bool)."""
    s = {}
    m = np.zeros((64, 64), bool)
    m[5:50, 5:15] = 1
    m[40:50, 5:55] = 1
    s['non-convex L'] = m
    m = np.zeros((64, 64), bool)
    m[5:12, 5:60] = 1
    m[5:60, 28:36] = 1
    s['non-convex T'] = m
    m = np.zeros((100, 100), np.uint8)
    cv2.line(m, (10, 20), (70, 40), 1, 3)  # 3 px wide, ~63 px long, shallow diagonal road
    s['elongated road (3x63, slope 1/3)'] = m.astype(bool)
    m = np.zeros((100, 100), np.uint8)
    cv2.line(m, (10, 10), (55, 60), 1, 3)
    s['elongated road (3x67, ~45 deg)'] = m.astype(bool)
    m = np.zeros((10, 10), bool)
    m[4, 4] = m[5, 4] = m[5, 5] = 1
    s['tiny 3 px (L)'] = m
    m = np.zeros((10, 10), bool)
    m[4, 3:6] = 1
    s['tiny 3 px (line)'] = m
    m = np.zeros((64, 64), bool)
    m[2:10, 2:10] = 1
    m[30:50, 40:60] = 1
    m[50:53, 5:8] = 1
    s['multi-part (3 parts)'] = m
    m = np.zeros((64, 64), np.uint8)
    cv2.circle(m, (32, 32), 20, 1, -1)
    cv2.circle(m, (32, 32), 10, 0, -1)
    s['ring (hole)'] = m.astype(bool)
    return s


def roundtrip_table(num_vertices=64):
    """(name, IoU, max box error in px) of mask -> sequence -> mask for every shape family."""
    rows = []
    for name, mask in shape_families().items():
        tokens, coords = mask_to_sequence(mask, num_vertices)
        rec = sequence_to_mask(tokens, coords, mask.shape)
        box = sequence_to_box(tokens, coords, mask.shape)
        rows.append((name, _iou(rec, mask), float(np.abs(box - _box(mask)).max())))
    return rows


def test_token_classes():
    assert (TOKEN_COORD, TOKEN_SEP, TOKEN_START, TOKEN_END, TOKEN_HOLE) == (0, 1, 2, 3, 4)
    assert NUM_TOKEN_CLASSES == 5


@pytest.mark.parametrize('mode', ['midpoint', 'edge'])
def test_trace_is_exact_on_random_masks(mode):
    rng = np.random.default_rng(0)
    for _ in range(5):
        mask = rng.random((40, 50)) > 0.55
        parts = mask_to_polygons(mask, min_part_pixels=1, mode=mode)
        assert np.array_equal(polygons_to_mask(parts, mask.shape), mask)
        np.testing.assert_allclose(polygons_to_box(parts), _box(mask))
        for p in parts:
            assert signed_area(p['outer']) > 0  # clockwise on screen (y down)
            for h in p['holes']:
                assert signed_area(h) < 0
        if mode == 'edge':
            assert all(np.array_equal(p['outer'], np.round(p['outer'])) for p in parts)


def test_parts_8_connected_holes_and_islands():
    m = np.zeros((12, 12), bool)
    m[2, 2] = m[3, 3] = m[4, 4] = 1  # diagonal pixels: one 8-connected part
    parts = mask_to_polygons(m)
    assert len(parts) == 1
    assert np.array_equal(polygons_to_mask(parts, m.shape), m)
    ring = np.zeros((20, 20), bool)
    ring[2:18, 2:18] = 1
    ring[5:15, 5:15] = 0
    ring[8:12, 8:12] = 1  # island inside the hole: its own part
    parts = mask_to_polygons(ring)
    assert len(parts) == 2 and sorted(len(p['holes']) for p in parts) == [0, 1]
    assert np.array_equal(polygons_to_mask(parts, ring.shape), ring)
    no_holes = mask_to_polygons(ring, with_holes=False)
    assert all(p['holes'] == [] for p in no_holes)
    filled = polygons_to_mask(no_holes, ring.shape)
    assert filled[6, 6] and filled.sum() == 16 * 16


def test_small_parts_dropped_but_never_all():
    m = np.zeros((20, 20), bool)
    m[2:8, 2:8] = 1
    m[15, 15] = 1  # 1 px part dropped
    m[17, 2:4] = 1  # 2 px part dropped
    parts = mask_to_polygons(m)
    assert len(parts) == 1
    np.testing.assert_allclose(polygons_to_box(parts), [2, 2, 8, 8])
    single = np.zeros((5, 5), bool)
    single[2, 3] = 1  # only a 1 px part: kept rather than returning nothing
    parts = mask_to_polygons(single)
    assert len(parts) == 1
    np.testing.assert_allclose(polygons_to_box(parts), [3, 2, 4, 3])
    assert mask_to_polygons(np.zeros((5, 5), bool)) == []


def test_sequence_layout_and_canonical_order():
    m = np.zeros((50, 60), bool)
    m[30:45, 40:55] = 1  # far part
    m[5:20, 5:25] = 1  # near part, with a hole
    m[9:14, 10:18] = 0
    tokens, coords = mask_to_sequence(m, num_vertices=64)
    assert tokens.dtype == np.int64 and coords.dtype == np.float32
    assert tokens.shape[0] == coords.shape[0]
    assert tokens[0] == TOKEN_START and tokens[-1] == TOKEN_END
    assert (tokens == TOKEN_COORD).sum() == 64
    assert (tokens == TOKEN_SEP).sum() == 1 and (tokens == TOKEN_HOLE).sum() == 1
    # START, part-1 vertices, HOLE, hole vertices, SEP, part-2 vertices, END
    i_hole, i_sep = int(np.flatnonzero(tokens == TOKEN_HOLE)[0]), int(
        np.flatnonzero(tokens == TOKEN_SEP)[0])
    assert 1 < i_hole < i_sep < len(tokens) - 1
    assert np.all(coords[tokens != TOKEN_COORD] == 0)
    assert coords.min() >= 0 and coords.max() <= 1
    # part 1 is the one nearest the top-left, starting at its vertex nearest (0, 0)
    first = coords[1] * [60, 50]
    assert first[0] < 10 and first[1] < 10
    outer1 = coords[1:i_hole] * [60, 50]
    dist = np.hypot(*outer1.T)
    assert dist[0] <= dist.min() + 1e-4  # ties go to the smaller y
    assert signed_area(outer1) > 0  # clockwise
    assert signed_area(coords[i_hole + 1:i_sep] * [60, 50]) < 0
    assert (coords[i_sep + 1] * [60, 50] > 29).all()
    # no holes requested: no HOLE token, filled outer
    t2, c2 = mask_to_sequence(m, 64, with_holes=False)
    assert (t2 == TOKEN_HOLE).sum() == 0 and (t2 == TOKEN_COORD).sum() == 64
    assert sequence_to_mask(t2, c2, m.shape)[11, 14]


def test_vertex_budget_shared_by_perimeter():
    m = np.zeros((100, 100), bool)
    m[5:90, 5:90] = 1
    m[95:98, 95:98] = 1
    tokens, _ = mask_to_sequence(m, 32)
    sep = int(np.flatnonzero(tokens == TOKEN_SEP)[0])
    n1, n2 = sep - 1, len(tokens) - sep - 2
    assert n1 + n2 == 32 and n2 >= 3 and n1 > 5 * n2
    many = np.zeros((100, 100), bool)
    for i in range(6):
        for j in range(6):
            many[i * 15 + 2:i * 15 + 6 + i, j * 15 + 2:j * 15 + 6] = 1
    tokens, coords = mask_to_sequence(many, 64)  # 36 parts but only 21 fit 3 vertices each
    assert (tokens == TOKEN_COORD).sum() == 64
    parts = sequence_to_polygons(tokens, coords, many.shape)
    assert len(parts) == 21 and all(len(p['outer']) >= 3 for p in parts)


def test_empty_mask_raises():
    with pytest.raises(ValueError, match='empty'):
        mask_to_sequence(np.zeros((8, 8), bool))
    with pytest.raises(ValueError):
        polygons_to_sequence([dict(outer=np.zeros((2, 2)), holes=[])], (8, 8))


def test_roundtrip_shape_families(capsys):
    rows = roundtrip_table(64)
    with capsys.disabled():
        print('\nround trip mask -> sequence(64) -> mask:')
        for name, iou, box_err in rows:
            print(f'  {name:36s} IoU {iou:.4f}  max box error {box_err:.3f} px')
    for name, iou, box_err in rows:
        assert iou >= 0.95, (name, iou)
        assert box_err <= 1.0, (name, box_err)


def test_decode_at_any_size():
    m = shape_families()['ring (hole)']
    tokens, coords = mask_to_sequence(m, 64)
    big = sequence_to_mask(tokens, coords, (128, 128))
    up = cv2.resize(m.astype(np.uint8), (128, 128), interpolation=cv2.INTER_NEAREST) > 0
    assert _iou(big, up) >= 0.95
    assert not big[64, 64]  # the hole survives
    rect = sequence_to_mask(tokens, coords, (32, 64))  # anisotropic size
    assert rect.shape == (32, 64) and rect[16, 16] and not rect[16, 32]


def test_polygons_input_any_orientation_and_start():
    # counter-clockwise, closed (repeated first point), starting bottom-right: gets canonicalised
    poly = np.array([[30., 40.], [30., 10.], [10., 10.], [10., 40.], [30., 40.]])
    tokens, coords = polygons_to_sequence([dict(outer=poly, holes=[])], (50, 40), 8)
    pts = coords[tokens == TOKEN_COORD] * [40, 50]
    np.testing.assert_allclose(pts[0], [10, 10])
    assert signed_area(pts) > 0
    np.testing.assert_allclose(pts[:4], [[10, 10], [20, 10], [30, 10], [30, 25]], atol=1e-4)


def test_box_to_sequence():
    tokens, coords = box_to_sequence([10, 20, 50, 40], (60, 80), num_vertices=16)
    assert (tokens == TOKEN_COORD).sum() == 16 and (tokens == TOKEN_SEP).sum() == 0
    np.testing.assert_allclose(sequence_to_box(tokens, coords, (60, 80)), [10, 20, 50, 40],
                               atol=1e-4)
    mask = sequence_to_mask(tokens, coords, (60, 80))
    ref = np.zeros((60, 80), bool)
    ref[20:40, 10:50] = 1
    assert np.array_equal(mask, ref)
    with pytest.raises(ValueError):
        box_to_sequence([10, 20, 10, 40], (60, 80))


def test_mask_or_box_to_sequence():
    m = np.zeros((20, 30), bool)
    m[3:9, 4:12] = 1
    t, c = mask_or_box_to_sequence(m, [0, 0, 5, 5])
    assert np.array_equal(sequence_to_mask(t, c, m.shape), m)  # the mask wins
    t, c = mask_or_box_to_sequence(m, [2, 3, 40, 9], box_only=True)  # box, clipped
    np.testing.assert_allclose(sequence_to_box(t, c, m.shape), [2, 3, 30, 9], atol=1e-5)
    t, c = mask_or_box_to_sequence(np.zeros((20, 30), bool), [2, 3, 2.5, 4])
    np.testing.assert_allclose(sequence_to_box(t, c, (20, 30)), [2, 3, 2.5, 4], atol=1e-5)
    with pytest.raises(ValueError, match='empty mask and no box'):
        mask_or_box_to_sequence(np.zeros((20, 30), bool), [2, 3, 2, 4])
    with pytest.raises(ValueError):
        mask_or_box_to_sequence(np.zeros((20, 30), bool), None)


def test_sequence_to_polygons_torch_padding_and_junk():
    m = np.zeros((20, 20), bool)
    m[3:9, 4:12] = 1
    tokens, coords = mask_to_sequence(m, 16)
    t, c = pad_sequences([(tokens, coords), (tokens[:5], coords[:5])])
    assert t.shape == (2, len(tokens)) and c.shape == (2, len(tokens), 2)
    assert t.dtype == torch.long and c.dtype == torch.float32
    assert (t[1, 5:] == -1).all() and (c[1, 5:] == 0).all()
    parts = sequence_to_polygons(t[0], c[0], m.shape)
    assert np.array_equal(polygons_to_mask(parts, m.shape), m)
    # a truncated sequence (no END, followed by padding) still decodes its 4 vertices
    assert len(sequence_to_polygons(t[1], c[1], m.shape)) == 1
    # anything after END is ignored
    junk_t = torch.cat([t[0], torch.tensor([TOKEN_COORD] * 3)])
    junk_c = torch.cat([c[0], torch.rand(3, 2)])
    assert len(sequence_to_polygons(junk_t, junk_c, m.shape)) == 1
    # fewer than 3 vertices -> []
    short = np.array([TOKEN_START, TOKEN_COORD, TOKEN_COORD, TOKEN_END])
    assert sequence_to_polygons(short, np.full((4, 2), 0.5), (10, 10)) == []
    assert polygons_to_mask([], (4, 5)).shape == (4, 5)
    np.testing.assert_array_equal(polygons_to_box([]), np.zeros(4))
    empty_t, empty_c = pad_sequences([])
    assert empty_t.shape == (0, 0) and empty_c.shape == (0, 0, 2)


def test_resample_contour_arc_length():
    square = np.array([[0., 0.], [4., 0.], [4., 4.], [0., 4.]])
    pts = resample_contour(square, 8)
    np.testing.assert_allclose(pts, [[0, 0], [2, 0], [4, 0], [4, 2], [4, 4], [2, 4], [0, 4],
                                     [0, 2]])

    # strictly uniform spacing on request; with kept vertices a polygon with <= n vertices keeps
    # them all (corners survive)
    np.testing.assert_allclose(resample_contour(square, 3, keep_vertices=False),
                               [[0, 0], [4, 1.3333333], [1.3333333, 4]], atol=1e-6)
    tri = resample_contour(np.array([[0., 0.], [9., 0.], [0., 3.]]), 5)
    assert all(any(np.allclose(v, q) for q in tri) for v in [[0, 0], [9, 0], [0, 3]])
    m = shape_families()['non-convex L']
    t_u, c_u = mask_to_sequence(m, 64, keep_vertices=False)
    pts = c_u[t_u == TOKEN_COORD] * [64, 64]
    step = np.linalg.norm(np.diff(np.vstack([pts, pts[:1]]), axis=0), axis=1)
    assert step.max() - step.min() < 1.0  # near-equal chords (corners are cut)


if __name__ == '__main__':
    for n in (32, 64, 128):
        print(f'num_vertices={n}')
        for name, iou, err in roundtrip_table(n):
            print(f'  {name:36s} IoU {iou:.4f}  max box error {err:.3f} px')
