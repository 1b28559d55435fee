"""Location rules and map coordinates. Pure functions: no IO, no clock, no settings.

- ``check_fix`` refuses a GPS fix that cannot prove where the phone is: invalid coordinates,
  an accuracy of exactly 0 (mock providers report it), accuracy worse than the limit, a fix
  older than the limit or ahead of the server clock by more than ``FUTURE_SKEW``.
- ``check_within`` accepts a fix whose geodesic distance (WGS-84 ellipsoid, Karney's method
  via geopy) to the checkpoint is at most the radius: **the boundary is inside**.
- ``wgs84_to_gcj02`` / ``gcj02_to_bd09`` are the published conversions to the coordinate
  systems of Amap (GCJ-02) and Baidu Maps (BD-09); outside mainland China maps use WGS-84
  and nothing is converted. ``navigation_links`` builds their documented marker URIs.

Browsers report WGS-84 (W3C Geolocation), which is what is stored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple
from urllib.parse import quote, urlencode

from geopy.distance import geodesic

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


def is_within(distance: float, radius_m: float) -> bool:
    """The boundary counts as inside: exactly ``radius_m`` away is accepted."""
    return distance <= radius_m


def check_within(fix: Point, checkpoint: Point, radius_m: int) -> float:
    """The distance from the checkpoint, or OutOfRange saying how far and which radius.

    The distance shown is in whole metres, rounded up (ignoring float noise below a
    millimetre) and always beyond the radius: a refusal never reads "200 m, outside 200 m".
    """
    distance = distance_m(fix, checkpoint)
    if not is_within(distance, radius_m):
        shown = max(math.ceil(distance - 0.001), radius_m + 1)
        raise OutOfRange(distance=shown, radius=radius_m)
    return distance


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


# ---- WGS-84 → GCJ-02 → BD-09 ----

_KRASOVSKY_A = 6378245.0  # semi-major axis used by GCJ-02
_KRASOVSKY_EE = 0.00669342162296594323  # its first eccentricity squared
_BD_X_PI = math.pi * 3000.0 / 180.0


def out_of_china(point: Point) -> bool:
    """Outside the rectangle GCJ-02 applies to (maps there use WGS-84 unchanged)."""
    return not (72.004 <= point.longitude <= 137.8347 and 0.8293 <= point.latitude <= 55.8271)


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
