"""Properties of the period rules over any schedule, window, checkpoint and day: no
duplicates, no gaps, the window respected, 首巡 and 退出 rules kept, the same answer on every
re-run, and a plan edit (a deeper plan added) never giving a day to two plans."""

from __future__ import annotations

import calendar
import itertools
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from inspection_api.plans.generator import (
    CheckpointDates,
    ExitUnit,
    Frequency,
    MonthRule,
    PlanSpec,
    Schedule,
    TaskKind,
    ValidityUnit,
    Window,
    add_months,
    effective_day,
    first_day,
    periods,
    resolve,
    stop_day,
)

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
        stop = stop_day(schedule, checkpoint.exit_on)
        assert all(p.start < stop for p in regular), "regular tasks stop per the exit rule"
        assert all(p.start >= stop for p in exits)
        assert len(exits) <= schedule.exit_count
        for earlier, later in itertools.pairwise(exits):
            assert earlier.end == later.start
    else:
        assert exits == []

    # Every day the checkpoint is under regular inspection lies in exactly one period.
    last = min(until, window.end or until)
    if checkpoint.exit_on is not None:
        last = min(last, stop_day(schedule, checkpoint.exit_on) - timedelta(days=1))
    day = max(window.start, begin)
    checked = 0
    while day <= last and checked < 60:
        assert sum(p.contains(day) for p in regular) == 1, day
        day += timedelta(days=7)
        checked += 1


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
