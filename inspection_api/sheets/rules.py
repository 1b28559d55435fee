"""The print window and its lock (pure, no IO).

A sheet is **locked** when it was not printed inside its current window and the clock is
past the window's deadline. The deadline itself still belongs to the window: printing at
exactly ``print_deadline`` is allowed, one second (any instant) later is not.
"""

from __future__ import annotations

from datetime import datetime, timedelta


def first_deadline(submitted_at: datetime, print_hours: int) -> datetime:
    """The first window ends ``print_hours`` after the first submission."""
    return submitted_at + timedelta(hours=print_hours)


def reopened_deadline(approved_at: datetime, unlock_hours: int) -> datetime:
    """An approved unlock opens a new window of ``unlock_hours`` from the approval."""
    return approved_at + timedelta(hours=unlock_hours)


def is_locked(print_deadline: datetime, printed_at: datetime | None, now: datetime) -> bool:
    """Unprinted in the current window and past its (inclusive) deadline."""
    return printed_at is None and now > print_deadline


def approver_org_path(org_path: str, levels: int) -> str:
    """The path of the org ``levels`` above ``org_path`` ("/1/4/7/", 1 → "/1/4/"), never
    above the root."""
    ids = [part for part in org_path.strip("/").split("/") if part]
    keep = max(1, len(ids) - levels)
    return "/" + "/".join(ids[:keep]) + "/"
