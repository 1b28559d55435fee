"""The bank's days and times are Beijing's: UTC+8, the day turning at 16:00 UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from inspection_api.beijing import file_stamp, local_date, minute_text, second_text, utc_midnight

TURN = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)  # 2026-11-30 00:00 in Beijing


def test_the_day_turns_at_beijing_midnight():
    assert local_date(TURN - timedelta(microseconds=1)) == date(2026, 11, 29)
    assert local_date(TURN) == date(2026, 11, 30)
    assert utc_midnight(date(2026, 11, 30)) == TURN


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="naive"):
        local_date(datetime(2026, 11, 29, 16, 0))


def test_times_read_as_in_beijing():
    assert minute_text(TURN + timedelta(minutes=30, seconds=59)) == "2026-11-30 00:30"
    assert second_text(TURN - timedelta(seconds=1)) == "2026-11-29 23:59:59"
    assert second_text(TURN) == "2026-11-30 00:00:00"
    assert file_stamp(TURN + timedelta(minutes=5)) == "20261130-0005"
