"""geo, property-based: the radius boundary anywhere on Earth (poles and the antimeridian
included), accuracy and age limits, and the map conversions' shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from geopy.distance import geodesic
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from inspection_api.checkpoints import geo
from inspection_api.checkpoints.errors import (
    FixFromFuture,
    FixInaccurate,
    FixMocked,
    FixStale,
    OutOfRange,
)
from inspection_api.checkpoints.geo import Fix, FixLimits, Point

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
LIMITS = FixLimits(max_accuracy_m=100, max_age=timedelta(seconds=120))

latitudes = st.floats(min_value=-90, max_value=90, allow_nan=False)
longitudes = st.floats(min_value=-180, max_value=180, allow_nan=False)
points = st.builds(Point, latitudes, longitudes)
bearings = st.floats(min_value=0, max_value=360, allow_nan=False)
radii = st.integers(min_value=geo.RADIUS_MIN_M, max_value=geo.RADIUS_MAX_M)


def destination(point: Point, metres: float, bearing: float) -> Point:
    moved = geodesic(meters=metres).destination((point.latitude, point.longitude), bearing)
    return Point(moved.latitude, moved.longitude)


@settings(max_examples=300, deadline=None)
@given(
    site=points,
    bearing=bearings,
    radius=radii,
    fraction=st.floats(min_value=0, max_value=2, allow_nan=False),
)
@example(site=Point(90, 0), bearing=180, radius=200, fraction=0.5)  # north pole
@example(site=Point(-90, 45), bearing=10, radius=200, fraction=1.5)  # south pole
@example(site=Point(0, 179.9995), bearing=90, radius=200, fraction=0.9)  # across ±180°
@example(site=Point(38.0503, 114.5219), bearing=0, radius=200, fraction=1.0)
def test_accepted_exactly_when_inside_the_radius(
    site: Point, bearing: float, radius: int, fraction: float
):
    metres = radius * fraction
    # Within a millimetre of the rounding edge (radius + 0.5 m), float rounding decides:
    # the rule itself is pinned on exact numbers in test_geo and below.
    assume(abs(metres - radius - 0.5) > 1e-3)
    fix = destination(site, metres, bearing)
    geo.check_point(fix)  # geopy normalises longitude into [-180, 180]
    if metres < radius + 0.5:
        assert geo.check_within(fix, site, radius) == pytest.approx(metres, abs=0.501)
    else:
        with pytest.raises(OutOfRange) as refused:
            geo.check_within(fix, site, radius)
        # The message shows the compared distance, whole metres, never one inside the radius.
        shown = refused.value.params["distance"]
        assert isinstance(shown, int) and shown > radius
        assert abs(shown - metres) <= 0.501


@settings(max_examples=300, deadline=None)
@given(
    site=points,
    bearing=bearings,
    radius=radii,
    offset=st.floats(min_value=-1.5, max_value=1.5, allow_nan=False),
)
@example(site=Point(39.9042, 116.4074), bearing=0, radius=100, offset=0.0)
@example(site=Point(38.0503, 114.5219), bearing=45, radius=200, offset=1e-9)
def test_both_sides_of_the_edge_check_and_show_the_same_number(
    site: Point, bearing: float, radius: int, offset: float
):
    """Accepted exactly when the distance shown (whole metres, halves up) is at most the
    radius; a refusal shows that same number."""
    fix = destination(site, radius + offset, bearing)
    raw = geo.distance_m(fix, site)
    shown = geo.shown_m(raw)
    assert abs(shown - raw) <= 0.5 and shown.is_integer()
    if shown <= radius:
        assert geo.check_within(fix, site, radius) == shown
    else:
        with pytest.raises(OutOfRange) as refused:
            geo.check_within(fix, site, radius)
        assert refused.value.params["distance"] == shown > radius
        assert f"距检查点 {refused.value.params['distance']} 米" in refused.value.message("zh")


@given(latitude=st.floats(min_value=-89.9, max_value=89.9), offset=st.floats(1e-6, 1e-3))
def test_the_antimeridian_is_no_wall(latitude: float, offset: float):
    east, west = Point(latitude, 180 - offset), Point(latitude, -180 + offset)
    # Two points either side of ±180° are as close as their longitudes say, not 40,000 km.
    assert geo.distance_m(east, west) <= 2 * offset * 111_320 + 1e-6
    assert geo.distance_m(east, west) == pytest.approx(geo.distance_m(west, east))


@given(longitude_a=longitudes, longitude_b=longitudes, pole=st.sampled_from([90.0, -90.0]))
def test_every_longitude_at_a_pole_is_the_same_place(
    longitude_a: float, longitude_b: float, pole: float
):
    assert geo.distance_m(Point(pole, longitude_a), Point(pole, longitude_b)) < 1e-6


@given(accuracy=st.floats(min_value=0, max_value=1e6, allow_nan=False), age=st.integers(0, 120))
def test_accuracy_limit(accuracy: float, age: int):
    fix = Fix(38.05, 114.52, accuracy, NOW - timedelta(seconds=age))
    if accuracy == 0:
        with pytest.raises(FixMocked):
            geo.check_fix(fix, NOW, LIMITS)
    elif accuracy > LIMITS.max_accuracy_m:
        with pytest.raises(FixInaccurate) as refused:
            geo.check_fix(fix, NOW, LIMITS)
        assert refused.value.params["accuracy"] > LIMITS.max_accuracy_m
    else:
        geo.check_fix(fix, NOW, LIMITS)


@given(offset=st.floats(min_value=-10_000, max_value=10_000, allow_nan=False))
def test_age_limit_and_future_skew(offset: float):
    """``offset`` seconds before the server's now (negative: ahead of it)."""
    fix = Fix(38.05, 114.52, 15.0, NOW - timedelta(seconds=offset))
    if offset > LIMITS.max_age.total_seconds():
        with pytest.raises(FixStale):
            geo.check_fix(fix, NOW, LIMITS)
    elif -offset > LIMITS.future_skew.total_seconds():
        with pytest.raises(FixFromFuture):
            geo.check_fix(fix, NOW, LIMITS)
    else:
        geo.check_fix(fix, NOW, LIMITS)


china = st.builds(
    Point,
    st.floats(min_value=18.0, max_value=53.0),
    st.floats(min_value=74.0, max_value=134.0),
)


@given(point=china)
def test_gcj02_and_bd09_offsets_stay_small_inside_china(point: Point):
    assume(not geo.out_of_china(point))  # the box also holds Mongolia, Korea, Taiwan…
    gcj = geo.wgs84_to_gcj02(point)
    bd = geo.wgs84_to_bd09(point)
    # Published behaviour: GCJ-02 shifts by up to ~700 m, BD-09 adds about another kilometre.
    assert 0 < geo.distance_m(point, gcj) < 1_000
    assert 0 < geo.distance_m(point, bd) < 2_000


@given(point=points)
def test_conversions_leave_points_outside_china_alone(point: Point):
    assume(geo.out_of_china(point))
    assert geo.wgs84_to_gcj02(point) == point == geo.wgs84_to_bd09(point)
