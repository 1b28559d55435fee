"""The period rules, on examples a bank would check by hand: month ends, leap years, year
ends, 首巡开始规则, 退出规则 with exit-point checks, 历史检查有效期, Beijing days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from inspection_api.plans.generator import (
    CheckpointDates,
    ExitUnit,
    Frequency,
    MonthRule,
    Period,
    PlanSpec,
    Schedule,
    TaskKind,
    ValidityUnit,
    Window,
    add_months,
    covers,
    local_date,
    periods,
    resolve,
    shift,
    valid_until,
)

MONTHLY = Schedule(frequency=Frequency.MONTH, interval=1, first_rule=MonthRule.THIS_MONTH)
OLD = CheckpointDates(created_on=date(2020, 1, 1))


def starts(found: list[Period]) -> list[str]:
    return [str(p.start) for p in found]


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2026, 12, 31), 1, date(2027, 1, 31)),  # year end
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 8, 31), 3, date(2026, 11, 30)),
    ],
)
def test_month_arithmetic_clamps_month_ends(day, months, expected):
    assert add_months(day, months) == expected


def test_shift_by_unit():
    assert shift(date(2028, 2, 29), 1, ValidityUnit.YEAR) == date(2029, 2, 28)
    assert shift(date(2026, 12, 31), 1, ValidityUnit.DAY) == date(2027, 1, 1)
    assert shift(date(2026, 1, 31), 1, ExitUnit.MONTH) == date(2026, 2, 28)


def test_beijing_day_of_an_instant():
    # 16:30 UTC on 31 December is already 1 January in Beijing (UTC+8, no DST).
    assert local_date(datetime(2026, 12, 31, 16, 30, tzinfo=UTC)) == date(2027, 1, 1)
    assert local_date(datetime(2026, 7, 1, 15, 59, tzinfo=UTC)) == date(2026, 7, 1)
    with pytest.raises(ValueError):
        local_date(datetime(2026, 1, 1))


def test_monthly_periods_are_calendar_months_across_a_year_end():
    found = periods(MONTHLY, Window(date(2026, 11, 1)), OLD, until=date(2027, 2, 10))
    assert starts(found) == ["2026-11-01", "2026-12-01", "2027-01-01", "2027-02-01"]
    assert found[1] == Period(date(2026, 12, 1), date(2027, 1, 1))
    assert found[1].last_day == date(2026, 12, 31)


def test_quarters_and_years_anchor_at_the_start():
    quarterly = Schedule(frequency=Frequency.MONTH, interval=3, first_rule=MonthRule.THIS_MONTH)
    found = periods(quarterly, Window(date(2026, 1, 1), date(2026, 12, 31)), OLD, date(2027, 6, 1))
    assert starts(found) == ["2026-01-01", "2026-04-01", "2026-07-01", "2026-10-01"]
    yearly = Schedule(frequency=Frequency.YEAR, interval=1, first_rule=MonthRule.THIS_MONTH)
    found = periods(yearly, Window(date(2026, 8, 1)), OLD, date(2028, 1, 1))
    assert found == [
        Period(date(2026, 1, 1), date(2027, 1, 1)),  # overlaps the window from 1 August
        Period(date(2027, 1, 1), date(2028, 1, 1)),
        Period(date(2028, 1, 1), date(2029, 1, 1)),
    ]


def test_every_ten_days_from_the_start_day():
    daily = Schedule(frequency=Frequency.DAY, interval=10, first_rule=MonthRule.THIS_MONTH)
    found = periods(daily, Window(date(2028, 2, 20)), OLD, date(2028, 3, 12))
    assert found == [
        Period(date(2028, 2, 20), date(2028, 3, 1)),  # 29 February included
        Period(date(2028, 3, 1), date(2028, 3, 11)),
        Period(date(2028, 3, 11), date(2028, 3, 21)),
    ]


def test_first_inspection_this_month_or_next():
    window = Window(date(2026, 1, 1))
    new = CheckpointDates(created_on=date(2026, 3, 31))
    assert starts(periods(MONTHLY, window, new, date(2026, 5, 1))) == [
        "2026-03-01",
        "2026-04-01",
        "2026-05-01",
    ]
    next_month = Schedule(first_rule=MonthRule.NEXT_MONTH)
    assert starts(periods(next_month, window, new, date(2026, 5, 1))) == [
        "2026-04-01",
        "2026-05-01",
    ]
    # Quarterly, 次月首巡, created in February: the quarter containing 1 March.
    quarterly = Schedule(interval=3, first_rule=MonthRule.NEXT_MONTH)
    feb = CheckpointDates(created_on=date(2026, 2, 10))
    assert starts(periods(quarterly, window, feb, date(2026, 4, 1))) == [
        "2026-01-01",
        "2026-04-01",
    ]


def test_exit_point_stops_and_gets_its_exit_checks():
    exit_rule = Schedule(
        first_rule=MonthRule.THIS_MONTH,
        exit_rule=MonthRule.THIS_MONTH,
        exit_interval=3,
        exit_unit=ExitUnit.MONTH,
        exit_count=2,
    )
    exited = CheckpointDates(created_on=date(2025, 1, 1), exit_on=date(2026, 5, 20))
    found = periods(exit_rule, Window(date(2026, 1, 1)), exited, date(2027, 1, 1))
    assert found == [
        Period(date(2026, 1, 1), date(2026, 2, 1)),
        Period(date(2026, 2, 1), date(2026, 3, 1)),
        Period(date(2026, 3, 1), date(2026, 4, 1)),
        Period(date(2026, 4, 1), date(2026, 5, 1)),  # 当月停止: May has no regular task
        Period(date(2026, 5, 1), date(2026, 8, 1), TaskKind.EXIT),
        Period(date(2026, 8, 1), date(2026, 11, 1), TaskKind.EXIT),
    ]
    next_month = Schedule(
        first_rule=MonthRule.THIS_MONTH,
        exit_rule=MonthRule.NEXT_MONTH,
        exit_interval=30,
        exit_unit=ExitUnit.DAY,
        exit_count=1,
    )
    found = periods(next_month, Window(date(2026, 1, 1)), exited, date(2027, 1, 1))
    assert found[-2:] == [
        Period(date(2026, 5, 1), date(2026, 6, 1)),  # 次月停止: May still due
        Period(date(2026, 6, 1), date(2026, 7, 1), TaskKind.EXIT),
    ]
    none = Schedule(first_rule=MonthRule.THIS_MONTH)  # 0 exit checks
    assert periods(none, Window(date(2026, 1, 1)), exited, date(2027, 1, 1))[-1] == Period(
        date(2026, 4, 1), date(2026, 5, 1)
    )


OLD_2025 = date(2025, 1, 1)


def exit_case(frequency: Frequency, interval: int, rule: MonthRule) -> Schedule:
    return Schedule(
        frequency=frequency,
        interval=interval,
        first_rule=MonthRule.THIS_MONTH,
        exit_rule=rule,
        exit_interval=1,
        exit_unit=ExitUnit.MONTH,
        exit_count=1,
    )


THIS, NEXT = MonthRule.THIS_MONTH, MonthRule.NEXT_MONTH
QUARTER, HALF = (Frequency.MONTH, 3), (Frequency.MONTH, 6)
YEAR, TEN_DAYS = (Frequency.YEAR, 1), (Frequency.DAY, 10)


@pytest.mark.parametrize(
    ("every", "window_start", "exit_on", "rule", "regular", "exit_check"),
    [
        # Quarterly, exited 20 May (in Q2): 当月停止 — Q2 has no regular task, the exit
        # check starts with the exit month; 次月停止 — Q2 keeps its task, the check follows it.
        (QUARTER, "2026-01-01", "2026-05-20", THIS, ["2026-01-01"], "2026-05-01"),
        (QUARTER, "2026-01-01", "2026-05-20", NEXT, ["2026-01-01", "2026-04-01"], "2026-07-01"),
        # The quarter's first and last days belong to it, under both rules.
        (QUARTER, "2026-01-01", "2026-04-01", THIS, ["2026-01-01"], "2026-04-01"),
        (QUARTER, "2026-01-01", "2026-04-01", NEXT, ["2026-01-01", "2026-04-01"], "2026-07-01"),
        (QUARTER, "2026-01-01", "2026-03-31", THIS, [], "2026-03-01"),
        (QUARTER, "2026-01-01", "2026-03-31", NEXT, ["2026-01-01"], "2026-04-01"),
        (QUARTER, "2026-01-01", "2026-06-30", THIS, ["2026-01-01"], "2026-06-01"),
        (QUARTER, "2026-01-01", "2026-06-30", NEXT, ["2026-01-01", "2026-04-01"], "2026-07-01"),
        # Half-yearly.
        (HALF, "2026-01-01", "2026-05-20", THIS, [], "2026-05-01"),
        (HALF, "2026-01-01", "2026-05-20", NEXT, ["2026-01-01"], "2026-07-01"),
        (HALF, "2026-01-01", "2026-07-01", THIS, ["2026-01-01"], "2026-07-01"),
        # Yearly: 当月停止 in November takes the whole year's task away; the exit check
        # still waits for the exit month (none in January for a November exit).
        (YEAR, "2025-01-01", "2026-11-20", THIS, ["2025-01-01"], "2026-11-01"),
        (YEAR, "2025-01-01", "2026-11-20", NEXT, ["2025-01-01", "2026-01-01"], "2027-01-01"),
        (YEAR, "2025-01-01", "2026-01-01", THIS, ["2025-01-01"], "2026-01-01"),
        (YEAR, "2025-01-01", "2025-12-31", NEXT, ["2025-01-01"], "2026-01-01"),
        # Every 10 days from 3 May: [3, 13), [13, 23), [23 May, 2 June) …
        (TEN_DAYS, "2026-05-03", "2026-05-20", THIS, ["2026-05-03"], "2026-05-13"),
        (TEN_DAYS, "2026-05-03", "2026-05-20", NEXT, ["2026-05-03", "2026-05-13"], "2026-06-01"),
        (TEN_DAYS, "2026-05-03", "2026-05-13", THIS, ["2026-05-03"], "2026-05-13"),
        (TEN_DAYS, "2026-05-03", "2026-05-12", THIS, [], "2026-05-03"),
        (TEN_DAYS, "2026-05-03", "2026-05-12", NEXT, ["2026-05-03"], "2026-06-01"),
        # Monthly, as the rule's names say: the exit month, the next month.
        ((Frequency.MONTH, 1), "2026-04-01", "2026-05-20", THIS, ["2026-04-01"], "2026-05-01"),
        (
            (Frequency.MONTH, 1),
            "2026-04-01",
            "2026-05-20",
            NEXT,
            ["2026-04-01", "2026-05-01"],
            "2026-06-01",
        ),
    ],
)
def test_the_exit_rule_stops_at_the_period_containing_the_exit_date(
    every, window_start, exit_on, rule, regular, exit_check
):
    frequency, interval = every
    schedule = exit_case(frequency, interval, rule)
    exited = CheckpointDates(created_on=OLD_2025, exit_on=date.fromisoformat(exit_on))
    found = periods(schedule, Window(date.fromisoformat(window_start)), exited, date(2028, 1, 1))
    assert starts([p for p in found if p.kind == TaskKind.REGULAR]) == regular
    exits = [p for p in found if p.kind == TaskKind.EXIT]
    assert starts(exits) == [exit_check]
    assert exits[0].end == add_months(exits[0].start, 1)


def test_validity_covers_a_later_period_only_when_valid_on_all_its_days():
    one_month = Schedule(validity=1, validity_unit=ValidityUnit.MONTH)
    two_months = Schedule(validity=2, validity_unit=ValidityUnit.MONTH)
    december = Period(date(2026, 12, 1), date(2027, 1, 1))
    # The case: 1 month from 1 or 2 November lapses on 1 or 2 December, before
    # December ends: neither counts for December (2 November used to cover all of it).
    assert valid_until(one_month, date(2026, 11, 2)) == date(2026, 12, 2)
    assert not covers(one_month, date(2026, 11, 1), december)
    assert not covers(one_month, date(2026, 11, 2), december)
    assert not covers(one_month, date(2026, 11, 30), december)
    # 2 months: from 1 November valid through 31 December (lapses 1 January): covered;
    # from 31 October it lapses on 31 December, December's last day: not.
    assert covers(two_months, date(2026, 11, 1), december)
    assert covers(two_months, date(2026, 11, 30), december)
    assert not covers(two_months, date(2026, 10, 31), december)
    # Month ends clamp: 31 January + 1 month lapses 28 February; a period [1, 28) February
    # (ten-day or custom periods) is covered, the whole of February is not.
    assert valid_until(one_month, date(2026, 1, 31)) == date(2026, 2, 28)
    assert covers(one_month, date(2026, 1, 31), Period(date(2026, 2, 1), date(2026, 2, 28)))
    assert not covers(one_month, date(2026, 1, 31), Period(date(2026, 2, 1), date(2026, 3, 1)))
    # In a leap year it lapses on 29 February: 1–28 February covered, not 1–29.
    assert covers(one_month, date(2028, 1, 31), Period(date(2028, 2, 1), date(2028, 2, 29)))
    assert not covers(one_month, date(2028, 1, 31), Period(date(2028, 2, 1), date(2028, 3, 1)))
    # Days: 31 days from 30 November lapse on 31 December; 32 days on 1 January.
    days31 = Schedule(validity=31, validity_unit=ValidityUnit.DAY)
    days32 = Schedule(validity=32, validity_unit=ValidityUnit.DAY)
    assert not covers(days31, date(2026, 11, 30), december)
    assert covers(days32, date(2026, 11, 30), december)
    # Years, from a leap day: 29 February 2028 + 1 year lapses 28 February 2029.
    year = Schedule(validity=1, validity_unit=ValidityUnit.YEAR)
    assert covers(year, date(2028, 2, 29), Period(date(2028, 3, 1), date(2029, 2, 28)))
    assert not covers(year, date(2028, 2, 29), Period(date(2028, 3, 1), date(2029, 3, 1)))
    # Quarterly, 6 months: 1 January covers Q2 to its last day, 31 December does not.
    six = Schedule(validity=6, validity_unit=ValidityUnit.MONTH)
    q2 = Period(date(2026, 4, 1), date(2026, 7, 1))
    assert covers(six, date(2026, 1, 1), q2) and not covers(six, date(2025, 12, 31), q2)
    # Its own period is "done", not "covered"; 0 counts for its own period only.
    assert not covers(two_months, date(2026, 12, 1), december)
    assert not covers(
        Schedule(validity=0), date(2026, 1, 5), Period(date(2026, 1, 6), date(2026, 1, 7))
    )


def test_a_deeper_plan_overrides_from_its_start():
    province = PlanSpec(1, 0, MONTHLY, Window(date(2026, 1, 1)))
    quarterly = Schedule(interval=3, first_rule=MonthRule.THIS_MONTH)
    branch = PlanSpec(2, 1, quarterly, Window(date(2026, 7, 1), date(2026, 12, 31)))
    owed = resolve([province, branch], OLD, date(2027, 2, 1))
    assert [(plan, str(p.start)) for plan, p in owed] == [
        (2, "2026-07-01"),
        (2, "2026-10-01"),
        (1, "2026-01-01"),
        (1, "2026-02-01"),
        (1, "2026-03-01"),
        (1, "2026-04-01"),
        (1, "2026-05-01"),
        (1, "2026-06-01"),
        (1, "2027-01-01"),  # the branch plan ended
        (1, "2027-02-01"),
    ]


def test_the_scheduler_wakes_just_after_beijing_midnight():
    from inspection_api.plans.scheduler import seconds_to_next_run

    # 15:50 UTC is 23:50 in Beijing: new periods begin in 10 minutes (+1 minute margin).
    assert seconds_to_next_run(datetime(2026, 11, 30, 15, 50, tzinfo=UTC), 3600) == 660
    assert seconds_to_next_run(datetime(2026, 11, 30, 2, 0, tzinfo=UTC), 3600) == 3600


def test_a_task_created_after_the_fact_is_done_by_an_inspection_in_or_before_it():
    from inspection_api.plans.sync import Inspected, done_by

    one_month = Schedule(validity=1, validity_unit=ValidityUnit.MONTH)
    two_months = Schedule(validity=2, validity_unit=ValidityUnit.MONTH)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    history = [
        Inspected(date(2026, 1, 10), at, 1),
        Inspected(date(2026, 3, 5), at, 2),
        Inspected(date(2026, 3, 20), at, 3),
        Inspected(date(2026, 4, 1), at, 4),
    ]
    march = Period(date(2026, 3, 1), date(2026, 4, 1))
    assert done_by(one_month, march, history) == (history[2], True)  # the last in March
    february = Period(date(2026, 2, 1), date(2026, 3, 1))
    assert done_by(two_months, february, history) == (history[0], False)  # to 9 March
    assert done_by(one_month, february, history) is None  # 10 January's ran out 10 February
    may = Period(date(2026, 5, 1), date(2026, 6, 1))
    assert done_by(two_months, may, history) == (history[3], False)  # valid to 31 May
    june = Period(date(2026, 6, 1), date(2026, 7, 1))
    assert done_by(two_months, june, history) is None  # 1 April's ran out on 1 June
    assert done_by(Schedule(validity=0), may, history) is None
    assert done_by(two_months, may, []) is None
