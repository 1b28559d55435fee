"""Calendar days in Beijing: the bank's dates (plan periods, exit dates) are days there.

China has kept UTC+8 without daylight saving since 1991; the zone is named all the same."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from inspection_api.db import utcnow

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_date(moment: datetime) -> date:
    """The calendar day in Beijing of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give a timezone-aware one")
    return moment.astimezone(SHANGHAI).date()


def today() -> date:
    """Today in Beijing."""
    return local_date(utcnow())


def utc_midnight(day: date) -> datetime:
    """The first moment of ``day`` in Beijing, in UTC (the previous day, 16:00). A range of
    days ``[first, last]`` is the moments ``[utc_midnight(first), utc_midnight(last + 1))``."""
    return datetime.combine(day, time(), SHANGHAI).astimezone(UTC)


def minute_text(moment: datetime) -> str:
    """``2026-11-30 14:05``: a moment as a person in Beijing reads it."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def file_stamp(moment: datetime) -> str:
    """``20261130-1405``: a moment in a file's name, in Beijing."""
    return moment.astimezone(SHANGHAI).strftime("%Y%m%d-%H%M")


def second_text(moment: datetime) -> str:
    """``2026-11-30 14:05:09``: to the second, where a second decides (a deadline, a window)."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
