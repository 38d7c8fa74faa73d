"""Generalized sequences: objects separated by OBJ, "no target" as START, END."""
import numpy as np
import pytest

from recs4r_mm.structures import (TOKEN_END, TOKEN_OBJ, TOKEN_SEP, TOKEN_START, ContourBudget,
                                  polygons_to_box, sequence_to_objects, sequence_to_polygons)


def _masks():
    m = np.zeros((3, 64, 64), bool)
    m[0, 5:15, 5:20] = True  # a rectangle
    m[1, 30:50, 40:60] = True  # a square
    m[2, 40:44, 2:8] = True  # an object of two parts
    m[2, 55:60, 10:30] = True
    return m


def test_objects_round_trip_with_parts_and_order():
    tokens, coords, record = ContourBudget(32, max_len=40).encode_objects(_masks())
    assert int((tokens == TOKEN_OBJ).sum()) == 2
    assert int((tokens == TOKEN_SEP).sum()) == 1  # the two-part object's second part
    assert record.num_parts == 4 and not record.reduced
    objects = sequence_to_objects(tokens, coords, (64, 64))
    # ordered by the first vertex's distance to the top-left corner
    assert [len(o) for o in objects] == [1, 2, 1]
    boxes = [polygons_to_box(o).tolist() for o in objects]
    assert boxes[0] == pytest.approx([5, 5, 20, 15], abs=0.6)
    assert boxes[1] == pytest.approx([2, 40, 30, 60], abs=0.6)
    assert boxes[2] == pytest.approx([40, 30, 60, 50], abs=0.6)
    # the union reads as today's parts
    assert len(sequence_to_polygons(tokens, coords, (64, 64))) == 4


def test_no_target_and_single_object_sequences():
    budget = ContourBudget(32, max_len=40)
    tokens, coords, _ = budget.encode_objects(np.zeros((0, 64, 64), bool))
    assert tokens.tolist() == [TOKEN_START, TOKEN_END] and coords.shape == (2, 2)
    assert sequence_to_objects(tokens, coords, (64, 64)) == []
    one_t, one_c, _ = budget.encode_objects(_masks()[:1])
    ref_t, ref_c, _ = budget.encode_mask(_masks()[0])
    assert np.array_equal(one_t, ref_t) and np.array_equal(one_c, ref_c)  # bit-identical


def test_many_objects_fit_the_budget():
    m = np.zeros((8, 64, 64), bool)
    for k in range(8):
        m[k, 2 + 7 * k:6 + 7 * k, 2 + 7 * k:4 + 7 * k + k] = True  # growing boxes
    budget = ContourBudget(12, max_len=20)  # at most 4 contours
    tokens, coords, record = budget.encode_objects(m)
    objects = sequence_to_objects(tokens, coords, (64, 64))
    assert len(objects) == 4 and record.dropped_parts == 4
    assert len(tokens) - 1 <= 20
    # the largest objects are kept
    kept = sorted(round(polygons_to_box(o)[1]) for o in objects)
    assert kept == [30, 37, 44, 51]
