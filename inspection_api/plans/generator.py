"""The pure rules that turn a schedule into task periods. No IO, no clock: "today" and the
checkpoint's dates are arguments, so every rule is unit- and property-tested on its own.

Dates are calendar days in Beijing time (``local_date``); a period is ``[start, end)``, its
last day ``end - 1``. Terms (docs/plans.md, "Periods"):

- regular periods follow 计划频次 × 时间间隔, anchored at the effective window's start: the
  first of its month (按月), 1 January of its year (按年) or the day itself (按天); a period is
  in the plan when it overlaps the window;
- 首巡开始规则: a checkpoint's first regular period is the one containing its creation day
  (当月首巡) or the first day of the following month (次月首巡);
- 退出规则, per regular period of any length: 当月停止 — the period containing the exit date
  and those after it have no regular task; 次月停止 — that period keeps its task, the next
  ones have none. Then 退出点检查次数 exit periods follow, each 退出点检查频率 ×
  退出点频率单位 long, from the day regular tasks stop or the first of the month the rule
  names (the exit month, the next month), whichever is later;
- 历史检查有效期: an inspection of day ``d`` is valid on the days ``d`` … ``d + validity - 1``
  and counts for a later period only when it is valid on every day of it;
- a more specific plan overrides a broader one on each day it is in force (``resolve``).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache

# Beijing days; re-exported here, where the other domains have always found them.
from inspection_api.beijing import SHANGHAI as SHANGHAI
from inspection_api.beijing import local_date as local_date


class Frequency(StrEnum):
    """计划频次."""

    YEAR = "year"  # 按年
    MONTH = "month"  # 按月
    DAY = "day"  # 按天


class ValidityUnit(StrEnum):
    """有效期单位."""

    DAY = "day"
    MONTH = "month"
    YEAR = "year"


class ExitUnit(StrEnum):
    """退出点频率单位."""

    MONTH = "month"
    DAY = "day"


class MonthRule(StrEnum):
    """退出规则 (当月停止/次月停止) and 首巡开始规则 (当月首巡/次月首巡)."""

    THIS_MONTH = "this_month"
    NEXT_MONTH = "next_month"


class TaskKind(StrEnum):
    REGULAR = "regular"  # 常规检查
    EXIT = "exit"  # 退出点检查


@dataclass(frozen=True)
class Schedule:
    """The scheduling fields of a global rule (全局规则)."""

    frequency: Frequency = Frequency.MONTH
    interval: int = 1  # 时间间隔, >= 1
    validity: int = 0  # 历史检查有效期, >= 0 (0: an inspection covers its own period only)
    validity_unit: ValidityUnit = ValidityUnit.MONTH
    exit_rule: MonthRule = MonthRule.THIS_MONTH
    exit_interval: int = 0  # 退出点检查频率, >= 0
    exit_unit: ExitUnit = ExitUnit.MONTH
    exit_count: int = 0  # 退出点检查次数, >= 0
    first_rule: MonthRule = MonthRule.NEXT_MONTH


@dataclass(frozen=True)
class Window:
    """The days a plan is in force, both ends included; ``end`` None: open-ended."""

    start: date
    end: date | None = None

    def contains(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)

    def overlaps(self, start: date, end: date) -> bool:
        """Whether ``[start, end)`` shares a day with the window."""
        return start <= (self.end or date.max) and self.start < end

    def intersect(self, other: Window) -> Window | None:
        start = max(self.start, other.start)
        ends = [e for e in (self.end, other.end) if e is not None]
        end = min(ends) if ends else None
        return None if end is not None and end < start else Window(start, end)


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date  # exclusive
    kind: TaskKind = TaskKind.REGULAR

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end


@dataclass(frozen=True)
class CheckpointDates:
    """What the rules need of a checkpoint, as Beijing calendar days."""

    created_on: date
    exit_on: date | None = None


def add_months(day: date, months: int) -> date:
    """``months`` calendar months later (or earlier), clamped to the month's last day:
    31 January + 1 month = 28 (or 29) February."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def shift(day: date, amount: int, unit: ValidityUnit | ExitUnit | Frequency | str) -> date:
    """``amount`` days, months or years after ``day`` (months and years clamp month ends:
    29 February + 1 year = 28 February)."""
    if unit == "day":
        return day + timedelta(days=amount)
    if unit == "month":
        return add_months(day, amount)
    if unit == "year":
        return add_months(day, 12 * amount)
    raise ValueError(f"unknown unit {unit!r}")


def month_start(day: date, months_later: int = 0) -> date:
    return add_months(day.replace(day=1), months_later)


def _anchor(frequency: Frequency, start: date) -> date:
    if frequency == Frequency.MONTH:
        return start.replace(day=1)
    if frequency == Frequency.YEAR:
        return start.replace(month=1, day=1)
    return start


def regular_periods(schedule: Schedule, window: Window, until: date) -> Iterator[Period]:
    """Every regular period of the window that starts on or before ``until``."""
    if schedule.interval < 1:
        raise ValueError("interval must be at least 1")
    anchor = _anchor(schedule.frequency, window.start)
    step = 0
    while True:
        # From the anchor each time (never chained): month ends cannot drift.
        start = shift(anchor, step * schedule.interval, schedule.frequency)
        end = shift(anchor, (step + 1) * schedule.interval, schedule.frequency)
        step += 1
        if start > until or (window.end is not None and start > window.end):
            return
        if window.overlaps(start, end):
            yield Period(start, end)


@lru_cache(maxsize=1024)
def _regular(schedule: Schedule, window: Window, until: date) -> tuple[Period, ...]:
    # The same for every checkpoint of a plan: computed once per generator run.
    return tuple(regular_periods(schedule, window, until))


def first_day(schedule: Schedule, created_on: date) -> date:
    """The day a new checkpoint's first regular period must contain or follow (首巡开始规则)."""
    if schedule.first_rule == MonthRule.THIS_MONTH:
        return created_on
    return month_start(created_on, 1)


def _containing(schedule: Schedule, window: Window, day: date) -> Period:
    """The regular period of the plan's grid that contains ``day``, in the window or not:
    periods are counted from the anchor both ways, as ``regular_periods`` counts them."""
    anchor = _anchor(schedule.frequency, window.start)
    if schedule.frequency == Frequency.DAY:
        step = (day - anchor).days // schedule.interval
    else:  # the anchor is the first of a month: whole months between the two
        months = (day.year - anchor.year) * 12 + day.month - anchor.month
        per = schedule.interval * (12 if schedule.frequency == Frequency.YEAR else 1)
        step = months // per
    return Period(
        shift(anchor, step * schedule.interval, schedule.frequency),
        shift(anchor, (step + 1) * schedule.interval, schedule.frequency),
    )


def stop_day(schedule: Schedule, window: Window, exit_on: date) -> date:
    """The start of the first regular period an exit point no longer owes (退出规则): the
    period containing the exit date (当月停止) or the one after it (次月停止). Monthly, these
    are the first of the exit month and of the next month, as the rule's names say."""
    containing = _containing(schedule, window, exit_on)
    return containing.start if schedule.exit_rule == MonthRule.THIS_MONTH else containing.end


def exit_start(schedule: Schedule, window: Window, exit_on: date) -> date:
    """The first day of the exit-point checks: when regular tasks stop, but never before
    the first of the month the rule names (the exit month for 当月停止, the next for 次月停止),
    so a long period (a year) stopped by 当月停止 gets no exit check before the exit month."""
    named = month_start(exit_on, 0 if schedule.exit_rule == MonthRule.THIS_MONTH else 1)
    return max(stop_day(schedule, window, exit_on), named)


def exit_periods(schedule: Schedule, start: date) -> list[Period]:
    """The 退出点检查次数 periods from ``start``, each 退出点检查频率 units long."""
    if schedule.exit_count <= 0 or schedule.exit_interval <= 0:
        return []
    return [
        Period(
            shift(start, k * schedule.exit_interval, schedule.exit_unit),
            shift(start, (k + 1) * schedule.exit_interval, schedule.exit_unit),
            TaskKind.EXIT,
        )
        for k in range(schedule.exit_count)
    ]


def periods(
    schedule: Schedule, window: Window, checkpoint: CheckpointDates, until: date
) -> list[Period]:
    """The periods one plan requires of one checkpoint, started by ``until``, in order."""
    begin = first_day(schedule, checkpoint.created_on)
    exit_on = checkpoint.exit_on
    stop = stop_day(schedule, window, exit_on) if exit_on else None
    found = [
        period
        for period in _regular(schedule, window, until)
        if period.end > begin and (stop is None or period.start < stop)
    ]
    if exit_on is not None:
        found.extend(
            period
            for period in exit_periods(schedule, exit_start(schedule, window, exit_on))
            if period.start <= until and window.overlaps(period.start, period.end)
        )
    return found


def valid_until(schedule: Schedule, completed_on: date) -> date:
    """The day an inspection of ``completed_on`` no longer counts (历史检查有效期): it is
    valid from that day up to the day before this one. 1 month from 31 January: valid up to
    27 February (the clamped 28 February is the first day it no longer counts)."""
    return shift(completed_on, schedule.validity, schedule.validity_unit)


def covers(schedule: Schedule, completed_on: date, period: Period) -> bool:
    """Whether an inspection of ``completed_on`` also counts for a later ``period``: only when
    it is still valid on every day of it, the last one included. A task marked done by an
    earlier inspection never has a day without a valid inspection."""
    return completed_on < period.start and period.end <= valid_until(schedule, completed_on)


@dataclass(frozen=True)
class PlanSpec:
    """A plan as the generator sees it: its effective schedule and window, and its depth in
    the org tree (a 支行 plan is deeper than its 分行's)."""

    plan_id: int
    depth: int
    schedule: Schedule
    window: Window


def _parts(plan: PlanSpec) -> tuple[Schedule, Window]:
    return plan.schedule, plan.window


def effective_day(plan: PlanSpec, period: Period) -> date:
    """The day that decides which plan a period belongs to: its first day in the window."""
    return max(period.start, plan.window.start)


def resolve(
    chain: Sequence[PlanSpec], checkpoint: CheckpointDates, until: date
) -> list[tuple[int, Period]]:
    """The (plan id, period) pairs a checkpoint owes, given the plans of its org and of the
    orgs above it. A period belongs to its plan when no deeper plan is in force on the
    period's effective day. Plans of one org never overlap (the service refuses it)."""
    if len(chain) == 1:  # the common case: one plan reaches the checkpoint
        return [(chain[0].plan_id, p) for p in periods(*_parts(chain[0]), checkpoint, until)]
    ordered = sorted(chain, key=lambda p: -p.depth)
    owed: list[tuple[int, Period]] = []
    for index, plan in enumerate(ordered):
        deeper = [p for p in ordered[:index] if p.depth > plan.depth]
        for period in periods(plan.schedule, plan.window, checkpoint, until):
            day = effective_day(plan, period)
            if not any(other.window.contains(day) for other in deeper):
                owed.append((plan.plan_id, period))
    return owed
