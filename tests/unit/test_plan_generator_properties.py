"""Properties of the period rules over any schedule, window, checkpoint and day: no
duplicates, no gaps, the window respected, 首巡 and 退出 rules kept, the same answer on every
re-run, and a plan edit (a deeper plan added) never giving a day to two plans."""

from __future__ import annotations

import calendar
import itertools
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

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
    effective_day,
    first_day,
    local_date,
    periods,
    regular_periods,
    resolve,
    shift,
    stop_day,
)
from inspection_api.plans.sync import Inspected, done_by

days = st.dates(min_value=date(2019, 1, 1), max_value=date(2031, 12, 31))


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    frequency = draw(st.sampled_from(Frequency))
    top = {Frequency.YEAR: 3, Frequency.MONTH: 12, Frequency.DAY: 45}[frequency]
    exit_count = draw(st.integers(0, 4))
    return Schedule(
        frequency=frequency,
        interval=draw(st.integers(1, top)),
        validity=draw(st.integers(0, 3)),
        validity_unit=draw(st.sampled_from(ValidityUnit)),
        exit_rule=draw(st.sampled_from(MonthRule)),
        exit_interval=draw(st.integers(1 if exit_count else 0, 6)),
        exit_unit=draw(st.sampled_from(ExitUnit)),
        exit_count=exit_count,
        first_rule=draw(st.sampled_from(MonthRule)),
    )


@st.composite
def windows(draw: st.DrawFn) -> Window:
    start = draw(days)
    length = draw(st.none() | st.integers(0, 1200))
    return Window(start, None if length is None else start + timedelta(days=length))


@st.composite
def checkpoints(draw: st.DrawFn) -> CheckpointDates:
    created = draw(days)
    exited = draw(st.none() | st.integers(0, 900))
    return CheckpointDates(created, None if exited is None else created + timedelta(days=exited))


@given(days, st.integers(-400, 400))
def test_add_months_lands_in_the_right_month_clamped(day, months):
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    last = calendar.monthrange(moved.year, moved.month)[1]
    assert moved.day == min(day.day, last)


@settings(max_examples=300, deadline=None)
@given(schedules(), windows(), checkpoints(), days)
def test_periods_have_no_duplicates_no_gaps_and_respect_the_window(
    schedule, window, checkpoint, until
):
    found = periods(schedule, window, checkpoint, until)
    assert len({p.start for p in found}) == len(found), "one task per period start"
    regular = [p for p in found if p.kind == TaskKind.REGULAR]
    exits = [p for p in found if p.kind == TaskKind.EXIT]
    for earlier, later in itertools.pairwise(regular):
        assert earlier.end == later.start, "no gap, no overlap"
    for period in found:
        assert period.start < period.end
        assert period.start <= until
        assert window.overlaps(period.start, period.end)

    begin = first_day(schedule, checkpoint.created_on)
    assert all(p.end > begin for p in regular), "nothing before the first inspection"
    if checkpoint.exit_on is not None:
        stop = stop_day(schedule, window, checkpoint.exit_on)
        assert all(p.start < stop for p in regular), "regular tasks stop per the exit rule"
        assert all(p.start >= stop for p in exits)
        assert all(r.end <= e.start for r in regular for e in exits), "never both at once"
        assert len(exits) <= schedule.exit_count
        for earlier, later in itertools.pairwise(exits):
            assert earlier.end == later.start
    else:
        assert exits == []

    # Every day the checkpoint is under regular inspection lies in exactly one period.
    last = min(until, window.end or until)
    if checkpoint.exit_on is not None:
        last = min(last, stop_day(schedule, window, checkpoint.exit_on) - timedelta(days=1))
    day = max(window.start, begin)
    checked = 0
    while day <= last and checked < 60:
        assert sum(p.contains(day) for p in regular) == 1, day
        day += timedelta(days=7)
        checked += 1


def grid_period_containing(schedule: Schedule, window: Window, day: date) -> Period:
    """Brute force: walk the plan's grid of regular periods one by one, from far enough
    before ``day``, until one contains it."""
    unit = {Frequency.YEAR: 12, Frequency.MONTH: 1, Frequency.DAY: 0}[schedule.frequency]
    if unit:
        anchor = date(window.start.year, 1 if unit == 12 else window.start.month, 1)
        step = schedule.interval * unit
        start = anchor
        while start > day:
            start = add_months(start, -step)
        while add_months(start, step) <= day:
            start = add_months(start, step)
        return Period(start, add_months(start, step))
    start = window.start
    while start > day:
        start -= timedelta(days=schedule.interval)
    while start + timedelta(days=schedule.interval) <= day:
        start += timedelta(days=schedule.interval)
    return Period(start, start + timedelta(days=schedule.interval))


@settings(max_examples=400, deadline=None)
@given(schedules(), windows(), checkpoints(), days)
def test_the_exit_rule_against_a_brute_force_oracle(schedule, window, checkpoint, until):
    """当月停止: a regular period is owed only if it ended before the exit date; 次月停止: only
    if it began on or before it. Exit checks start where regular ones stop (the containing
    period's start or end), never before the first of the exit month (当月停止) or of the next
    month (次月停止)."""
    exit_on = checkpoint.exit_on
    if exit_on is None:
        return
    plain = periods(schedule, window, CheckpointDates(checkpoint.created_on), until)
    found = periods(schedule, window, checkpoint, until)
    this_month = schedule.exit_rule == MonthRule.THIS_MONTH
    if this_month:
        expected = [p for p in plain if p.last_day < exit_on]
    else:
        expected = [p for p in plain if p.start <= exit_on]
    assert [p for p in found if p.kind == TaskKind.REGULAR] == expected

    containing = grid_period_containing(schedule, window, exit_on)
    first_of_month = exit_on.replace(day=1)
    if not this_month:
        first_of_month = (first_of_month + timedelta(days=31)).replace(day=1)
    start = max(containing.start if this_month else containing.end, first_of_month)
    bounds = []  # counted from the first start each time, as regular periods are
    for k in range(schedule.exit_count + 1 if schedule.exit_interval else 0):
        if schedule.exit_unit == ExitUnit.DAY:
            bounds.append(start + timedelta(days=k * schedule.exit_interval))
        else:
            bounds.append(add_months(start, k * schedule.exit_interval))
    wanted = [
        Period(begin, end, TaskKind.EXIT)
        for begin, end in itertools.pairwise(bounds)
        if begin <= until and window.overlaps(begin, end)
    ]
    assert [p for p in found if p.kind == TaskKind.EXIT] == wanted


@settings(max_examples=200, deadline=None)
@given(schedules(), windows(), checkpoints(), days, st.integers(0, 800))
def test_re_running_later_keeps_every_earlier_period(schedule, window, checkpoint, until, later):
    first = periods(schedule, window, checkpoint, until)
    assert periods(schedule, window, checkpoint, until) == first  # same answer every run
    again = periods(schedule, window, checkpoint, until + timedelta(days=later))
    assert set(first) <= set(again)
    assert {p for p in again if p.start <= until} == set(first)


@settings(max_examples=200, deadline=None)
@given(schedules(), schedules(), windows(), windows(), checkpoints(), days)
def test_a_deeper_plan_takes_over_its_days_and_only_those(
    broad_schedule, deep_schedule, broad_window, deep_window, checkpoint, until
):
    broad = PlanSpec(1, 1, broad_schedule, broad_window)
    deep = PlanSpec(2, 2, deep_schedule, deep_window)
    before = resolve([broad], checkpoint, until)
    after = resolve([broad, deep], checkpoint, until)
    assert before == [(1, p) for p in periods(broad_schedule, broad_window, checkpoint, until)]
    kept = [p for plan, p in after if plan == 1]
    assert set(kept) <= {p for _, p in before}
    for period in kept:
        assert not deep_window.contains(effective_day(broad, period))
    assert {plan for plan, _ in after} <= {1, 2}
    assert [p for plan, p in after if plan == 2] == periods(
        deep_schedule, deep_window, checkpoint, until
    )
    # Editing the deeper plan away gives everything back to the broader one.
    assert resolve([broad], checkpoint, until) == before


# 历史检查有效期 against a brute-force oracle: validity counted by walking the calendar day by
# day (no month arithmetic), coverage by checking every day of the period.


def months_later_by_walking(day: date, months: int) -> date:
    """``months`` calendar months after ``day`` by walking forward day by day: the same day
    of the month, or the target month's last day when it is shorter."""
    here, crossed = day, 0
    while crossed < months:
        here += timedelta(days=1)
        crossed += here.day == 1
    while here.day != day.day and (here + timedelta(days=1)).day != 1:
        here += timedelta(days=1)
    return here


def lapses_on(amount: int, unit: ValidityUnit, day: date) -> date:
    if unit == ValidityUnit.DAY:
        return day + timedelta(days=amount)
    return months_later_by_walking(day, amount * (12 if unit == ValidityUnit.YEAR else 1))


def oracle_covers(amount: int, unit: ValidityUnit, inspected: date, period: Period) -> bool:
    """An earlier inspection counts for the period when it is valid on each of its days."""
    if inspected >= period.start:
        return False
    lapse = lapses_on(amount, unit, inspected)
    day = period.start
    while day < period.end:
        if not inspected <= day < lapse:
            return False
        day += timedelta(days=1)
    return True


@st.composite
def task_periods(draw: st.DrawFn) -> Period:
    """A regular period of a monthly, quarterly, half-yearly, yearly or N-day plan, or an
    exit-point period of N months or days."""
    if draw(st.booleans()):
        frequency = draw(st.sampled_from(Frequency))
        top = {Frequency.YEAR: 2, Frequency.MONTH: 12, Frequency.DAY: 120}[frequency]
        schedule = Schedule(frequency=frequency, interval=draw(st.integers(1, top)))
        start = draw(days)
        found = list(regular_periods(schedule, Window(start), start + timedelta(days=400)))
        return draw(st.sampled_from(found))
    unit = draw(st.sampled_from(ExitUnit))
    start = draw(days)
    length = draw(st.integers(1, 6 if unit == ExitUnit.MONTH else 100))
    return Period(start, shift(start, length, unit), TaskKind.EXIT)


validities = st.tuples(st.integers(0, 24), st.sampled_from(ValidityUnit)).map(
    lambda v: (min(v[0], 2) if v[1] == ValidityUnit.YEAR else v[0], v[1])
)


@settings(max_examples=500, deadline=None)
@given(task_periods(), validities, st.integers(-20, 800), st.integers(0, 24 * 60 - 1))
def test_validity_against_a_brute_force_oracle(period, validity, days_before, minute):
    """Any period kind, any validity in days/months/years, any inspection instant: the day
    is the Beijing calendar day (UTC+8, computed apart from zoneinfo), and the period
    counts as covered exactly when the oracle says so."""
    amount, unit = validity
    schedule = Schedule(validity=amount, validity_unit=unit)
    day = period.start - timedelta(days=days_before)
    # An instant of that Beijing day, in UTC: midnight Beijing is 16:00 UTC the day before.
    at = datetime.combine(day - timedelta(days=1), time(16), tzinfo=UTC) + timedelta(minutes=minute)
    assert (at + timedelta(hours=8)).date() == day
    assert covers(schedule, local_date(at), period) == oracle_covers(amount, unit, day, period)


@settings(max_examples=300, deadline=None)
@given(
    task_periods(),
    validities,
    st.lists(st.integers(-120, 800), min_size=0, max_size=6),
)
def test_done_by_picks_the_inspection_the_oracle_picks(period, validity, offsets):
    """For a task generated later: the last inspection inside the period does it; else an
    earlier one covers it when any earlier one is valid on all its days (and then the last
    one is: a later inspection never lapses sooner)."""
    amount, unit = validity
    schedule = Schedule(validity=amount, validity_unit=unit)
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    history = [
        Inspected(period.start - timedelta(days=offset), stamp, n)
        for n, offset in enumerate(sorted(offsets, reverse=True))
    ]
    inside = [i for i in history if period.contains(i.day)]
    before = [i for i in history if i.day < period.start]
    found = done_by(schedule, period, history)
    if inside:
        assert found == (inside[-1], True)
    elif any(oracle_covers(amount, unit, i.day, period) for i in before):
        assert found == (before[-1], False)
    else:
        assert found is None


@given(days, st.integers(0, 40))
def test_month_arithmetic_matches_walking_the_calendar(day, months):
    assert add_months(day, months) == months_later_by_walking(day, months)
