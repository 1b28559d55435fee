"""Location rules and map coordinates. Pure functions: no IO, no clock, no settings.

- ``check_fix`` refuses a GPS fix that cannot prove where the phone is: invalid coordinates,
  an accuracy of exactly 0 (mock providers report it), accuracy worse than the limit, a fix
  older than the limit or ahead of the server clock by more than ``FUTURE_SKEW``.
- ``check_within`` accepts a fix whose geodesic distance (WGS-84 ellipsoid, Karney's method
  via geopy) to the checkpoint, rounded once to whole metres (``shown_m``), is at most the
  radius: **the boundary is inside**, and a refusal shows the number that was compared.
- ``wgs84_to_gcj02`` / ``gcj02_to_bd09`` are the published conversions to the coordinate
  systems of Amap (GCJ-02) and Baidu Maps (BD-09); outside mainland China (a coarse outline
  in ``china_outline``; Hong Kong, Macau and Taiwan outside) maps use WGS-84 and nothing is
  converted. ``navigation_links`` builds their documented marker URIs.

Browsers report WGS-84 (W3C Geolocation), which is what is stored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple
from urllib.parse import quote, urlencode

from geopy.distance import geodesic

from inspection_api.checkpoints.china_outline import HONG_KONG, MACAU, MAINLAND
from inspection_api.checkpoints.errors import (
    FixFromFuture,
    FixInaccurate,
    FixMocked,
    FixStale,
    OutOfRange,
)
from inspection_api.errors import InvalidField

# Per-checkpoint tolerance radius bounds (the global default has the same bounds).
RADIUS_MIN_M = 10
RADIUS_MAX_M = 10_000
# Phone clocks run a little fast or slow; a fix up to this far "in the future" is accepted.
FUTURE_SKEW = timedelta(seconds=30)


class Point(NamedTuple):
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Fix:
    """A position reported by the phone (W3C GeolocationPosition, WGS-84)."""

    latitude: float
    longitude: float
    accuracy_m: float  # radius of 95 % confidence, in metres
    captured_at: datetime  # timezone-aware

    @property
    def point(self) -> Point:
        return Point(self.latitude, self.longitude)


@dataclass(frozen=True)
class FixLimits:
    max_accuracy_m: float
    max_age: timedelta
    future_skew: timedelta = FUTURE_SKEW


def check_point(point: Point, field: str = "fix") -> None:
    """Refuse coordinates that are not a place on Earth (NaN, infinite, out of range)."""
    for name, value, bound in (("latitude", point.latitude, 90.0), ("longitude", point[1], 180.0)):
        if not (
            isinstance(value, int | float) and math.isfinite(value) and -bound <= value <= bound
        ):
            raise InvalidField(
                f"{field}.{name}",
                f"应为 -{bound:g} 到 {bound:g} 之间的数",
                f"must be a number from -{bound:g} to {bound:g}",
            )


def check_fix(fix: Fix, now: datetime, limits: FixLimits) -> None:
    """Refuse a fix that cannot place the phone (see the module docstring), in that order."""
    check_point(fix.point)
    accuracy = fix.accuracy_m
    if not (isinstance(accuracy, int | float) and math.isfinite(accuracy) and accuracy >= 0):
        raise InvalidField("fix.accuracy", "应为不小于 0 的数", "must be a number, at least 0")
    if fix.captured_at.tzinfo is None:
        raise InvalidField("fix.captured_at", "应包含时区", "must include a time zone")
    if accuracy == 0:
        raise FixMocked()
    if accuracy > limits.max_accuracy_m:
        raise FixInaccurate(accuracy=math.ceil(accuracy), limit=_number(limits.max_accuracy_m))
    ahead = fix.captured_at - now
    if ahead > limits.future_skew:
        raise FixFromFuture(ahead=math.ceil(ahead.total_seconds()))
    age = now - fix.captured_at
    if age > limits.max_age:
        limit = _number(limits.max_age.total_seconds())
        raise FixStale(age=math.floor(age.total_seconds()), limit=limit)


def distance_m(a: Point, b: Point) -> float:
    """Geodesic distance on the WGS-84 ellipsoid, in metres."""
    return float(geodesic(a, b).meters)


def shown_m(distance: float) -> float:
    """A distance as checked, stored and shown: in whole metres, halves up (what the pages
    show with ``Math.round``).

    The radius (whole metres) is compared with this value, never with the raw float, so a
    fix exactly on the boundary is not refused by float noise (100.000000001 m is 100 m) and
    a refusal always shows a distance beyond the radius."""
    return float(math.floor(distance + 0.5))


def is_within(distance: float, radius_m: float) -> bool:
    """The boundary counts as inside: ``shown_m(distance)`` of exactly ``radius_m`` is
    accepted."""
    return shown_m(distance) <= radius_m


def check_within(fix: Point, checkpoint: Point, radius_m: int) -> float:
    """The distance from the checkpoint (``shown_m``), or OutOfRange saying how far and
    which radius, with the very number that was compared ("201 米，超出允许范围 200 米")."""
    distance = shown_m(distance_m(fix, checkpoint))
    if distance > radius_m:
        raise OutOfRange(distance=_number(distance), radius=radius_m)
    return distance


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


# ---- WGS-84 → GCJ-02 → BD-09 ----

_KRASOVSKY_A = 6378245.0  # semi-major axis used by GCJ-02
_KRASOVSKY_EE = 0.00669342162296594323  # its first eccentricity squared
_BD_X_PI = math.pi * 3000.0 / 180.0
# The outline's bounding box (min lon, min lat, max lon, max lat): most of the world fails here.
_BOX = (
    min(x for x, _ in MAINLAND),
    min(y for _, y in MAINLAND),
    max(x for x, _ in MAINLAND),
    max(y for _, y in MAINLAND),
)


def _inside(point: Point, polygon: tuple[tuple[float, float], ...]) -> bool:
    """Even-odd ray casting on (longitude, latitude) vertices: the polygons are small enough
    (a few thousand km, none across ±180°) for plane geometry at this resolution."""
    x, y = point.longitude, point.latitude
    inside = False
    j = len(polygon) - 1
    for i, (xi, yi) in enumerate(polygon):
        xj, yj = polygon[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def out_of_china(point: Point) -> bool:
    """Outside mainland China, where maps use WGS-84 unchanged: outside the coarse outline
    in ``china_outline`` (Taiwan and the Korean peninsula are outside it), or in Hong Kong
    or Macau."""
    if not (_BOX[0] <= point.longitude <= _BOX[2] and _BOX[1] <= point.latitude <= _BOX[3]):
        return True
    if not _inside(point, MAINLAND):
        return True
    return _inside(point, HONG_KONG) or _inside(point, MACAU)


def _delta_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2 / 3
    return ret


def _delta_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3
    return ret


def wgs84_to_gcj02(point: Point) -> Point:
    """GCJ-02 (国测局坐标, Amap/Tencent) of a WGS-84 point; unchanged outside China."""
    if out_of_china(point):
        return point
    lat, lon = point
    x, y = lon - 105.0, lat - 35.0
    rad_lat = lat / 180.0 * math.pi
    magic = 1 - _KRASOVSKY_EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (_delta_lat(x, y) * 180.0) / (
        (_KRASOVSKY_A * (1 - _KRASOVSKY_EE)) / (magic * sqrt_magic) * math.pi
    )
    d_lon = (_delta_lon(x, y) * 180.0) / (_KRASOVSKY_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return Point(lat + d_lat, lon + d_lon)


def gcj02_to_bd09(point: Point) -> Point:
    """BD-09 (百度经纬度坐标, bd09ll) of a GCJ-02 point."""
    lat, lon = point
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * _BD_X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _BD_X_PI)
    return Point(z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065)


def wgs84_to_bd09(point: Point) -> Point:
    """BD-09 of a WGS-84 point; unchanged outside China."""
    return point if out_of_china(point) else gcj02_to_bd09(wgs84_to_gcj02(point))


@dataclass(frozen=True)
class NavigationLinks:
    baidu: str
    amap: str


NAV_SOURCE = "loancheck"  # the caller name both URI APIs ask for


def navigation_links(point: Point, name: str, address: str = "") -> NavigationLinks:
    """Marker links that open Baidu Maps and Amap (app on phones, web elsewhere) at a
    WGS-84 point, converted to each map's own system and named as such in the URI."""
    abroad = out_of_china(point)
    bd = wgs84_to_bd09(point)
    gcj = wgs84_to_gcj02(point)
    baidu = {
        "location": f"{bd.latitude:.6f},{bd.longitude:.6f}",
        "title": name,
        "content": address or name,
        "output": "html",
        "coord_type": "wgs84" if abroad else "bd09ll",
        "src": f"webapp.{NAV_SOURCE}.{NAV_SOURCE}",
    }
    amap = {
        "position": f"{gcj.longitude:.6f},{gcj.latitude:.6f}",
        "name": name,
        "src": NAV_SOURCE,
        "coordinate": "wgs84" if abroad else "gaode",
        "callnative": "1",
    }
    return NavigationLinks(
        baidu="https://api.map.baidu.com/marker?" + urlencode(baidu, safe=",", quote_via=quote),
        amap="https://uri.amap.com/marker?" + urlencode(amap, safe=",", quote_via=quote),
    )
