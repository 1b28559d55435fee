"""geo: fixes refused with a reason, the radius rule, WGS-84 → GCJ-02 → BD-09 against
published values, and the Baidu/Amap marker links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from geopy.distance import geodesic

from inspection_api.checkpoints import geo
from inspection_api.checkpoints.errors import (
    FixFromFuture,
    FixInaccurate,
    FixMocked,
    FixStale,
    OutOfRange,
)
from inspection_api.checkpoints.geo import Fix, FixLimits, Point
from inspection_api.errors import InvalidField

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
LIMITS = FixLimits(max_accuracy_m=100, max_age=timedelta(seconds=120))
SITE = Point(38.0503, 114.5219)  # 石家庄, a demo checkpoint


def fix(point: Point = SITE, accuracy: float = 12.0, age_s: float = 5.0) -> Fix:
    return Fix(point.latitude, point.longitude, accuracy, NOW - timedelta(seconds=age_s))


def away(point: Point, metres: float, bearing: float = 90.0) -> Point:
    moved = geodesic(meters=metres).destination((point.latitude, point.longitude), bearing)
    return Point(moved.latitude, moved.longitude)


# ---- published conversion values ----


def test_wgs84_to_gcj02_matches_the_published_reference():
    # coordtransform's README (wandergis): wgs84togcj02(116.404, 39.915), lng/lat order.
    gcj = geo.wgs84_to_gcj02(Point(39.915, 116.404))
    assert gcj.longitude == pytest.approx(116.41024449916938, abs=1e-9)
    assert gcj.latitude == pytest.approx(39.91640428150164, abs=1e-9)


def test_gcj02_to_bd09_matches_the_published_references():
    # coordtransform's README: gcj02tobd09(116.404, 39.915).
    bd = geo.gcj02_to_bd09(Point(39.915, 116.404))
    assert bd.longitude == pytest.approx(116.41036949371029, abs=1e-9)
    assert bd.latitude == pytest.approx(39.92133699351021, abs=1e-9)
    # Beijing railway station as published by an independent source (R package docs, 5
    # decimals, so about a metre): GCJ-02 (39.90245, 116.42703) is BD-09 (39.90851, 116.43351).
    station = geo.gcj02_to_bd09(Point(39.90245, 116.42703))
    assert geo.distance_m(station, Point(39.90851, 116.43351)) < 1.5


def test_wgs84_to_bd09_chains_both_conversions():
    beijing = Point(39.915, 116.404)
    assert geo.wgs84_to_bd09(beijing) == geo.gcj02_to_bd09(geo.wgs84_to_gcj02(beijing))
    # The GCJ-02 offset in Beijing is a few hundred metres, never kilometres.
    assert 100 < geo.distance_m(beijing, geo.wgs84_to_gcj02(beijing)) < 1000


@pytest.mark.parametrize(
    "point",
    [Point(48.8584, 2.2945), Point(-33.8568, 151.2153), Point(22.2855, 114.1577 - 50)],
    ids=["paris", "sydney", "west-of-china"],
)
def test_no_conversion_outside_mainland_china(point: Point):
    assert geo.out_of_china(point)
    assert geo.wgs84_to_gcj02(point) == point
    assert geo.wgs84_to_bd09(point) == point


# Cities (WGS-84 lat, lon) on either side of where GCJ-02 applies: a box around China would
# convert Seoul and Pyongyang; Hong Kong, Macau and Taiwan keep WGS-84 as well.
NOT_CONVERTED = {
    "seoul": Point(37.5665, 126.9780),
    "pyongyang": Point(39.0392, 125.7625),
    "busan": Point(35.1796, 129.0756),
    "hong-kong": Point(22.3193, 114.1694),
    "hong-kong-lantau": Point(22.2600, 113.9400),
    "macau": Point(22.1987, 113.5439),
    "taipei": Point(25.0330, 121.5654),
    "kaohsiung": Point(22.6273, 120.3014),
    "vladivostok": Point(43.1155, 131.8855),
    "ulaanbaatar": Point(47.8864, 106.9057),
    "almaty": Point(43.2220, 76.8512),
    "hanoi": Point(21.0278, 105.8342),
    "kathmandu": Point(27.7172, 85.3240),
    "thimphu": Point(27.4728, 89.6390),
    "tokyo": Point(35.6762, 139.6503),
    "manila": Point(14.5995, 120.9842),
}
CONVERTED = {
    "beijing": Point(39.9042, 116.4074),
    "shanghai": Point(31.2304, 121.4737),
    "urumqi": Point(43.8256, 87.6168),
    "harbin": Point(45.8038, 126.5350),
    "sanya": Point(18.2528, 109.5120),
    "lhasa": Point(29.6500, 91.1000),
    "kashgar": Point(39.4704, 75.9898),
    "shenzhen-futian": Point(22.5431, 114.0579),  # across the river from Hong Kong
    "shenzhen-shekou": Point(22.4800, 113.9100),
    "zhuhai": Point(22.2707, 113.5767),  # across the border from Macau
    "dalian": Point(38.9140, 121.6147),
    "dandong": Point(40.1245, 124.3945),
    "xiamen": Point(24.4798, 118.0894),
    "fuzhou": Point(26.0745, 119.2965),
    "mohe": Point(52.9700, 122.5400),
    "dongxing": Point(21.5500, 107.9700),
    "ruili": Point(24.0100, 97.8500),
    "shijiazhuang": SITE,
}


@pytest.mark.parametrize("point", NOT_CONVERTED.values(), ids=NOT_CONVERTED.keys())
def test_places_outside_mainland_china_are_not_converted(point: Point):
    assert geo.out_of_china(point)
    assert geo.wgs84_to_gcj02(point) == point == geo.wgs84_to_bd09(point)
    links = geo.navigation_links(point, "x")
    assert "coord_type=wgs84" in links.baidu and "coordinate=wgs84" in links.amap


@pytest.mark.parametrize("point", CONVERTED.values(), ids=CONVERTED.keys())
def test_places_in_mainland_china_are_converted(point: Point):
    assert not geo.out_of_china(point)
    gcj = geo.wgs84_to_gcj02(point)
    assert 1 < geo.distance_m(point, gcj) < 1000
    assert geo.distance_m(point, geo.wgs84_to_bd09(point)) > 1
    links = geo.navigation_links(point, "x")
    assert "coord_type=bd09ll" in links.baidu and "coordinate=gaode" in links.amap


def test_navigation_links_name_each_maps_coordinate_system():
    links = geo.navigation_links(SITE, "华北重工厂区", "石家庄市长安区建设北大街 88 号")
    baidu = urlsplit(links.baidu)
    assert (baidu.scheme, baidu.netloc, baidu.path) == ("https", "api.map.baidu.com", "/marker")
    params = {k: v[0] for k, v in parse_qs(baidu.query).items()}
    bd = geo.wgs84_to_bd09(SITE)
    assert params["location"] == f"{bd.latitude:.6f},{bd.longitude:.6f}"  # lat,lng
    assert params["coord_type"] == "bd09ll"
    assert (params["title"], params["content"]) == (
        "华北重工厂区",
        "石家庄市长安区建设北大街 88 号",
    )
    assert params["output"] == "html" and params["src"].startswith("webapp.")

    amap = urlsplit(links.amap)
    assert (amap.netloc, amap.path) == ("uri.amap.com", "/marker")
    params = {k: v[0] for k, v in parse_qs(amap.query).items()}
    gcj = geo.wgs84_to_gcj02(SITE)
    assert params["position"] == f"{gcj.longitude:.6f},{gcj.latitude:.6f}"  # lon,lat
    assert params["coordinate"] == "gaode"
    assert params["name"] == "华北重工厂区"


def test_navigation_links_abroad_pass_wgs84_unchanged():
    paris = Point(48.8584, 2.2945)
    links = geo.navigation_links(paris, "Tour Eiffel")
    assert "coord_type=wgs84" in links.baidu and "location=48.858400,2.294500" in links.baidu
    assert "coordinate=wgs84" in links.amap and "position=2.294500,48.858400" in links.amap


# ---- fixes ----


def test_a_good_fix_passes():
    geo.check_fix(fix(), NOW, LIMITS)
    geo.check_fix(fix(accuracy=100, age_s=120), NOW, LIMITS)  # both limits are inclusive
    geo.check_fix(fix(age_s=-30), NOW, LIMITS)  # phone clock 30 s fast: tolerated


def test_accuracy_zero_is_refused_as_a_mock_location():
    with pytest.raises(FixMocked) as refused:
        geo.check_fix(fix(accuracy=0), NOW, LIMITS)
    assert refused.value.status == 422
    assert (
        refused.value.message("zh") == "定位精度报告为 0 米，疑似模拟定位；请关闭模拟定位软件后重试"
    )


def test_inaccurate_fix_says_how_inaccurate_and_the_limit():
    with pytest.raises(FixInaccurate) as refused:
        geo.check_fix(fix(accuracy=100.2), NOW, LIMITS)
    assert refused.value.message("zh").startswith("定位精度为 101 米，要求不超过 100 米")
    assert refused.value.message("en").startswith("Location accuracy is 101 m, at most 100 m")


def test_stale_and_future_fixes_are_refused():
    with pytest.raises(FixStale) as stale:
        geo.check_fix(fix(age_s=121), NOW, LIMITS)
    assert stale.value.message("zh") == "定位信息已过时（121 秒前获取，上限 120 秒），请重新定位"
    with pytest.raises(FixFromFuture) as future:
        geo.check_fix(fix(age_s=-31), NOW, LIMITS)
    assert future.value.message("zh") == "定位时间比服务器时间晚 31 秒，请检查手机的日期和时间设置"


@pytest.mark.parametrize(
    ("latitude", "longitude", "field"),
    [
        (90.0001, 114.0, "fix.latitude"),
        (-91.0, 114.0, "fix.latitude"),
        (float("nan"), 114.0, "fix.latitude"),
        (38.0, 180.5, "fix.longitude"),
        (38.0, float("inf"), "fix.longitude"),
    ],
)
def test_impossible_coordinates_name_the_field(latitude: float, longitude: float, field: str):
    with pytest.raises(InvalidField) as refused:
        geo.check_fix(Fix(latitude, longitude, 10.0, NOW), NOW, LIMITS)
    assert [e.field for e in refused.value.errors] == [field]


def test_negative_accuracy_and_naive_time_name_the_field():
    with pytest.raises(InvalidField) as negative:
        geo.check_fix(fix(accuracy=-1), NOW, LIMITS)
    assert negative.value.errors[0].field == "fix.accuracy"
    naive = Fix(SITE.latitude, SITE.longitude, 10.0, datetime(2026, 11, 29, 8, 0))
    with pytest.raises(InvalidField) as no_zone:
        geo.check_fix(naive, NOW, LIMITS)
    assert no_zone.value.errors[0].field == "fix.captured_at"


# ---- the radius ----


def test_the_radius_boundary_is_inside():
    assert geo.is_within(200.0, 200)
    assert geo.is_within(200.49, 200)  # 200 m, as shown
    assert not geo.is_within(200.5, 200)  # 201 m
    assert geo.shown_m(100.000000001) == 100
    assert geo.shown_m(349.5) == 350 and geo.shown_m(349.49) == 349


def test_a_fix_at_exactly_the_radius_is_not_refused_by_float_noise():
    """The geodesic of a point moved exactly 100 m comes back as 100.000000001 m or so: it
    is accepted, at 100.0 m."""
    site = Point(39.9042, 116.4074)
    for bearing in range(0, 360, 5):
        at_edge = away(site, 100, bearing)
        assert geo.check_within(at_edge, site, 100) == 100, bearing


def test_out_of_range_says_how_far_and_which_radius():
    with pytest.raises(OutOfRange) as refused:
        geo.check_within(away(SITE, 349.2), SITE, 200)
    assert refused.value.message("zh") == "当前位置距检查点 349 米，超出允许范围 200 米"
    assert refused.value.message("en") == (
        "You are 349 m from the checkpoint, outside the allowed 200 m"
    )
    assert refused.value.extra("zh") == {"distance_m": 349, "radius_m": 200}
    with pytest.raises(OutOfRange) as halves_up:
        geo.check_within(away(SITE, 349.6), SITE, 200)
    assert halves_up.value.message("zh") == "当前位置距检查点 350 米，超出允许范围 200 米"


def test_distance_just_beyond_the_radius_never_reads_as_equal():
    with pytest.raises(OutOfRange) as refused:
        geo.check_within(away(SITE, 200.51), SITE, 200)
    assert refused.value.message("zh") == "当前位置距检查点 201 米，超出允许范围 200 米"
    assert geo.check_within(away(SITE, 200.49), SITE, 200) == 200  # shown as 200 m: inside


def test_a_fix_inside_returns_its_distance():
    assert geo.check_within(away(SITE, 150), SITE, 200) == pytest.approx(150, abs=1e-6)
    assert geo.check_within(SITE, SITE, 200) == 0
