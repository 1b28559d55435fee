"""Calendar days in Beijing: the bank's dates (plan periods, exit dates) are days there.

China has kept UTC+8 without daylight saving since 1991; the zone is named all the same."""

from __future__ import annotations

from datetime import date, datetime
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
