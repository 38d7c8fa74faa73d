"""GeoJSON geometry at the written precision stays valid."""
from shapely.geometry import Polygon, mapping, shape

from recs4r_mm.apis.geojson import _rounded, _snapped


def test_geometry_snapped_to_the_written_precision_stays_valid():
    # a spike whose tip, rounded to 4 decimals, lands on the bottom edge: the ring then touches
    # itself, which GIS tools reject
    poly = Polygon([(0, 0), (2, 0), (2, 1), (1.00003, 0.00002), (0, 1)])
    assert poly.is_valid
    assert not shape(_rounded(mapping(poly), 4)).is_valid  # plain rounding breaks it
    written = shape(_rounded(mapping(_snapped(poly, 1e-4)), 4))
    assert written.is_valid
    assert abs(written.area - poly.area) < 1e-3
    for geom in getattr(written, 'geoms', [written]):  # RFC 7946: exteriors counter-clockwise
        assert geom.exterior.is_ccw
    assert _snapped(Polygon([(0, 0), (1e-6, 0), (0, 1e-6)]), 1e-4) is None  # nothing left
