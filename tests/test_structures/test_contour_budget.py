"""The contour budget rule: any mask fits the decoder's max_len, the smallest contours go first,
and the Fill IoU of what is kept meets the measured floors."""
import numpy as np
import pytest
from fragmented_masks import PART_COUNTS, blob_mask

from recs4r_mm.structures import (TOKEN_COORD, TOKEN_HOLE, TOKEN_SEP, BudgetRecord, BudgetStats,
                                  ContourBudget, mask_iou, max_contours_for, polygons_to_sequence,
                                  select_contours, sequence_to_mask)


def square(x, y, s):
    return dict(outer=np.array([[x, y], [x + s, y], [x + s, y + s], [x, y + s]], float),
                holes=[])


def test_max_contours_for_the_shipped_settings():
    assert max_contours_for(64, 80) == 16  # the real configs: 64 vertices + 16 separators/END
    assert max_contours_for(64, 80, prefix_len=3) == 13  # box_polygon baseline
    assert max_contours_for(32, 40) == 8  # the synthetic main job
    assert max_contours_for(16, 24) == 5  # the tiny test config: 3 vertices per contour
    assert max_contours_for(64) == 21  # no token limit: 3 vertices each
    with pytest.raises(ValueError, match='raise max_len to at least 68'):
        max_contours_for(64, 66, prefix_len=3)


def test_select_contours_drops_least_area_first_and_keeps_the_last_part():
    big = square(0, 0, 10)  # area 100, hole of area 9
    big['holes'] = [np.array([[2, 2], [2, 5], [5, 5], [5, 2]], float)]
    parts = [big, square(20, 0, 5), square(40, 0, 2)]  # areas 100 (net 91), 25, 4
    kept, n_parts, n_holes, area = select_contours(parts, 2)
    # cheapest first: the 4-pixel part, then the 9-pixel hole (not the 25-pixel part)
    assert (n_parts, n_holes, area) == (1, 1, 13.0)
    assert [len(p['holes']) for p in kept] == [0, 0]
    assert [p['outer'][0].tolist() for p in kept] == [[0, 0], [20, 0]]
    # one part with more holes than fit: the part stays, its largest holes stay
    ring = square(0, 0, 40)
    ring['holes'] = [np.array([[x, 2], [x, 2 + s], [x + s, 2 + s], [x + s, 2]], float)
                     for x, s in ((1, 2), (5, 4), (12, 6), (20, 3))]
    kept, n_parts, n_holes, _ = select_contours([ring], 3)
    assert n_parts == 0 and n_holes == 2 and len(kept) == 1
    assert sorted(len(h) for h in kept[0]['holes']) == [4, 4]
    assert sorted(float(np.ptp(h[:, 0])) for h in kept[0]['holes']) == [4.0, 6.0]


# Fill IoU of the encoded sequence with the GT mask (128x128 masks of blob_mask, measured
# with ContourBudget.encode_mask(..., 'always')), per (num_vertices, max_len, prefix, holes) and
# part count; the floors are the measurements rounded down to 0.01 (1.0 = exact).
FLOORS = {
    (64, 80, 0, False): (1.0, 1.0, 0.81, 0.48, 0.11),
    (64, 80, 0, True): (1.0, 0.95, 0.70, 0.45, 0.11),
    (64, 80, 3, False): (1.0, 1.0, 0.77, 0.33, 0.07),
    (64, 80, 3, True): (1.0, 0.95, 0.69, 0.30, 0.07),
    (16, 24, 0, False): (1.0, 0.64, 0.25, 0.09, 0.01),
    (16, 24, 0, True): (1.0, 0.52, 0.21, 0.08, 0.01),
}


@pytest.mark.parametrize('setting', sorted(FLOORS), ids=lambda s: 'nv{}_len{}_pre{}_{}'.format(
    s[0], s[1], s[2], 'holes' if s[3] else 'solid'))
def test_every_part_count_fits_with_a_floor_on_fill_iou(setting):
    nv, max_len, prefix, holes = setting
    budget = ContourBudget(nv, max_len=max_len, prefix_len=prefix, with_holes=holes)
    for n, floor in zip(PART_COUNTS, FLOORS[setting]):
        mask = blob_mask(n, holes=holes)
        tokens, coords, rec = budget.encode_mask(mask, 'always')
        assert len(tokens) - 1 + prefix <= max_len, (n, len(tokens))  # generated tokens
        assert (tokens == TOKEN_COORD).sum() == nv
        n_contours = 1 + ((tokens == TOKEN_SEP) | (tokens == TOKEN_HOLE)).sum()
        assert n_contours == rec.num_parts + rec.num_holes - rec.dropped_parts - \
            rec.dropped_holes <= budget.max_contours
        assert rec.num_parts == n
        assert rec.reduced == (rec.num_parts + rec.num_holes > budget.max_contours)
        fill = sequence_to_mask(tokens, coords, mask.shape)
        assert rec.fill_iou == pytest.approx(mask_iou(mask, fill))
        assert rec.fill_iou >= floor, (n, rec.fill_iou)


def test_specks_go_first_and_do_not_count_as_reduction():
    mask = np.zeros((64, 64), bool)
    mask[10:40, 10:40] = True
    rng = np.random.default_rng(0)
    for y, x in rng.integers(45, 63, (30, 2)):  # 1-pixel annotation specks
        mask[y, x] = True
    mask[0, 0] = mask[63, 63] = True  # specks touching the border
    tokens, coords, rec = ContourBudget(64, max_len=80).encode_mask(mask, 'always')
    assert rec.num_parts == 1 and not rec.reduced
    assert (tokens == TOKEN_SEP).sum() == 0
    clean = np.zeros_like(mask)
    clean[10:40, 10:40] = True
    assert np.array_equal(sequence_to_mask(tokens, coords, mask.shape), clean)


def test_without_holes_the_fill_covers_them_and_empty_masks_raise():
    mask = blob_mask(5, holes=True)
    budget = ContourBudget(64, max_len=80, with_holes=False)
    tokens, coords, rec = budget.encode_mask(mask, 'always')
    assert rec.num_holes == 0 and not rec.reduced and (tokens == TOKEN_HOLE).sum() == 0
    assert sequence_to_mask(tokens, coords, mask.shape).sum() > mask.sum()
    with pytest.raises(ValueError, match='empty'):
        budget.encode_mask(np.zeros((8, 8), bool))
    # 'reduced' measures only the targets it changed
    assert budget.encode_mask(mask)[2].fill_iou is None
    assert ContourBudget(16, max_len=24).encode_mask(blob_mask(20))[2].fill_iou < 0.3


def test_polygons_to_sequence_takes_the_same_rule():
    parts = [square(0, 0, 10), square(20, 0, 5), square(40, 0, 2)]
    tokens, _ = polygons_to_sequence(parts, (64, 64), num_vertices=12, max_contours=2)
    assert (tokens == TOKEN_SEP).sum() == 1
    # num_vertices // 3 is the upper bound whatever max_contours says
    tokens, _ = polygons_to_sequence(parts, (64, 64), num_vertices=6, max_contours=10)
    assert (tokens == TOKEN_SEP).sum() == 1


def test_budget_stats_summary():
    stats = BudgetStats()
    stats.update(BudgetRecord(num_parts=1))
    stats.update(BudgetRecord(num_parts=30, dropped_parts=14, fill_iou=0.5), 'a.png')
    stats.update(BudgetRecord(num_parts=20, dropped_parts=4, fill_iou=0.9), 'b.png')
    assert (stats.targets, stats.reduced, stats.dropped_contours) == (3, 2, 18)
    assert stats.mean_iou == pytest.approx(0.7)
    assert (stats.worst_iou, stats.worst_key) == (0.5, 'a.png')
    line = stats.summary()
    assert '2 of 3 targets (66.67%) reduced, 18 contour(s) dropped' in line
    assert 'mean 0.700, worst 0.500 (a.png)' in line
    assert BudgetStats(targets=5).summary() == '0 of 5 targets reduced'
