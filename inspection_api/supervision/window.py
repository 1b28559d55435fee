"""Report windows (统计期间) and their buckets: pure calendar arithmetic in Beijing days, no IO.

A window is a run of whole days ``[start, end]`` (both inclusive). A month, a quarter, a year
or any custom range of days is one; a trend splits it into buckets of a month, a quarter or
a year (the first and last bucket cut to the window).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from inspection_api.beijing import utc_midnight
from inspection_api.plans.generator import add_months

PERIOD = re.compile(r"^(?P<year>\d{4})(?:-Q(?P<quarter>[1-4])|-(?P<month>0[1-9]|1[0-2]))?$")
# A custom range may not span more than this: ten years of daily tasks is already more
# than any report reads, and a trend past it would have hundreds of buckets.
MAX_DAYS = 3700


class Granularity(StrEnum):
    MONTH = "month"  # 按月
    QUARTER = "quarter"  # 按季度
    YEAR = "year"  # 按年


@dataclass(frozen=True)
class Window:
    start: date  # first day, inclusive
    end: date  # last day, inclusive

    @property
    def end_exclusive(self) -> date:
        return self.end + timedelta(days=1)

    @property
    def utc_bounds(self) -> tuple[datetime, datetime]:
        """``[from, to)`` in UTC: midnight in Beijing of the first day and after the last."""
        return utc_midnight(self.start), utc_midnight(self.end_exclusive)

    @property
    def label(self) -> str:
        return label_of(self.start, self.end)


def parse_period(text: str) -> Window:
    """``2026`` (a year), ``2026-Q2`` (a quarter) or ``2026-03`` (a month)."""
    match = PERIOD.match(text)
    if match is None:
        raise ValueError(text)
    year = int(match["year"])
    if match["quarter"]:
        start = date(year, 3 * int(match["quarter"]) - 2, 1)
        return Window(start, add_months(start, 3) - timedelta(days=1))
    if match["month"]:
        start = date(year, int(match["month"]), 1)
        return Window(start, add_months(start, 1) - timedelta(days=1))
    return Window(date(year, 1, 1), date(year, 12, 31))


def _bucket_start(day: date, granularity: Granularity) -> date:
    if granularity == Granularity.YEAR:
        return date(day.year, 1, 1)
    if granularity == Granularity.QUARTER:
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return day.replace(day=1)


def _step(granularity: Granularity) -> int:
    return {Granularity.MONTH: 1, Granularity.QUARTER: 3, Granularity.YEAR: 12}[granularity]


def buckets(window: Window, granularity: Granularity) -> list[Window]:
    """The window cut at each calendar month, quarter or year, in order."""
    out: list[Window] = []
    start = _bucket_start(window.start, granularity)
    while start <= window.end:
        following = add_months(start, _step(granularity))
        out.append(Window(max(start, window.start), min(following - timedelta(days=1), window.end)))
        start = following
    return out


# A window longer than this is its own trend; a month or a quarter is shown in its year.
TREND_OWN_DAYS = 100


def trend_window(window: Window) -> Window:
    """The console's 报表曲线 of a window: the window itself when it spans more than
    ``TREND_OWN_DAYS`` days, else the 12 months ending with the window's last month."""
    if (window.end - window.start).days > TREND_OWN_DAYS:
        return window
    return Window(add_months(window.end.replace(day=1), -11), window.end)


def label_of(start: date, end: date) -> str:
    """How people name it: 2026年, 2026年第2季度, 2026年3月, else 2026-03-05 至 2026-04-04."""
    whole_month = start.day == 1 and add_months(start, 1) - timedelta(days=1) == end
    if start.month == 1 and start.day == 1 and end == date(start.year, 12, 31):
        return f"{start.year}年"
    if start.day == 1 and (start.month - 1) % 3 == 0 and add_months(start, 3) - timedelta(1) == end:
        return f"{start.year}年第{(start.month - 1) // 3 + 1}季度"
    if whole_month:
        return f"{start.year}年{start.month}月"
    return f"{start.isoformat()} 至 {end.isoformat()}"
