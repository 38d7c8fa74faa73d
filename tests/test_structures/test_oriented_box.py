"""Oriented box = minimum-area rectangle of the contour: angle and size of rotated rectangles."""
import numpy as np
import pytest

from recs4r_mm.structures import (mask_to_polygons, oriented_box_corners, oriented_box_to_list,
                                  points_to_oriented_box, polygons_to_oriented_box,
                                  polygons_to_sequence, sequence_to_polygons)


def _angle_diff(a, b):
    return abs((a - b + 90) % 180 - 90)  # a rectangle's angle is defined modulo 180


@pytest.mark.parametrize('angle', [0.0, 17.5, 30.0, 45.0, 60.0, -72.0, 89.0])
def test_exact_corners_give_back_centre_size_and_angle(angle):
    corners = oriented_box_corners((120.0, 80.0), 40.0, 15.0, angle)
    ob = points_to_oriented_box(corners)
    assert ob['center'] == pytest.approx([120, 80], abs=1e-3)
    assert (ob['width'], ob['height']) == pytest.approx((40, 15), abs=1e-3)
    assert _angle_diff(ob['angle'], angle) < 1e-3 and -90 <= ob['angle'] < 90
    # corners follow the documented order: the first edge is the long side
    assert np.hypot(*(ob['corners'][1] - ob['corners'][0])) == pytest.approx(40, abs=1e-3)


@pytest.mark.parametrize('angle', [0.0, 12.0, 30.0, 55.0, -40.0, 80.0])
def test_rasterised_rotated_rectangle_within_a_pixel_and_a_degree(angle):
    """A rotated 60 x 24 px rectangle rasterised (a pixel is in when its centre is), traced
    as the model's targets are, and resampled to the 32-vertex sequence the main-job config
    decodes."""
    yy, xx = np.mgrid[0:200, 0:200] + 0.5
    a = np.radians(angle)
    d = np.stack([xx - 100, yy - 90], -1)
    mask = (np.abs(d @ [np.cos(a), np.sin(a)]) <= 30) & (np.abs(d @ [-np.sin(a), np.cos(a)]) <= 12)
    traced = polygons_to_oriented_box(mask_to_polygons(mask))
    tokens, coords = polygons_to_sequence(mask_to_polygons(mask), (200, 200), 32)
    resampled = polygons_to_oriented_box(sequence_to_polygons(tokens, coords, (200, 200)))
    for ob in (traced, resampled):
        assert ob['width'] == pytest.approx(60, abs=1.0)
        assert ob['height'] == pytest.approx(24, abs=1.0)
        assert _angle_diff(ob['angle'], angle) <= 1.0
        assert ob['center'] == pytest.approx([100, 90], abs=0.75)


def test_map_coordinates_keep_sub_millimetre_precision():
    """UTM coordinates (~5e5, ~4e6) lose metres in float32: the helper centres them first."""
    corners = oriented_box_corners((500123.25, 4099876.5), 18.0, 10.0, -30.0)
    ob = points_to_oriented_box(corners)
    assert ob['center'] == pytest.approx([500123.25, 4099876.5], abs=1e-3)
    assert (ob['width'], ob['height']) == pytest.approx((18, 10), abs=1e-3)
    assert _angle_diff(ob['angle'], -30) < 1e-3


def test_all_parts_count_holes_do_not_and_bad_input_raises():
    a = dict(outer=np.array([[0., 0.], [10., 0.], [10., 10.], [0., 10.]]),
             holes=[np.array([[100., 100.], [101., 100.], [101., 101.]])])
    b = dict(outer=np.array([[30., 0.], [40., 0.], [40., 10.], [30., 10.]]), holes=[])
    ob = polygons_to_oriented_box([a, b])
    assert (ob['width'], ob['height'], ob['angle']) == pytest.approx((40, 10, 0), abs=1e-3)
    listed = oriented_box_to_list(ob)
    assert isinstance(listed['corners'][0][0], float) and len(listed['corners']) == 4
    with pytest.raises(ValueError, match='at least one'):
        polygons_to_oriented_box([])
    with pytest.raises(ValueError, match='finite'):
        points_to_oriented_box(np.array([[np.nan, 0.0]]))
