"""Pure rules of anomalies (no IO): which org's exception handlers an anomaly goes to, when
it is escalated."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from inspection_api.anomalies.models import AnomalyState

# pg_try_advisory_xact_lock key of the escalation run: one node at a time does it.
ESCALATION_LOCK_KEY = 0x4C43_414E_4F4D  # "LCANOM"

ACKNOWLEDGEABLE = frozenset({AnomalyState.OPEN})
RESOLVABLE = frozenset({AnomalyState.OPEN, AnomalyState.ACKNOWLEDGED})
REASSIGNABLE = frozenset({AnomalyState.OPEN, AnomalyState.ACKNOWLEDGED})


def path_ids(path: str) -> list[int]:
    """The org ids of a materialized path, root first: ``"/1/4/9/"`` → ``[1, 4, 9]``."""
    return [int(part) for part in path.strip("/").split("/") if part]


def nearest_handler_org(
    path: str, handler_orgs: Collection[int], *, above: int | None = None
) -> int | None:
    """Walking up from the org of ``path`` (itself first) to the root, the first org that
    has exception handlers (``handler_orgs``); None when there is none.

    With ``above`` (an org on the path), the walk starts at that org's parent: where an
    anomaly its handlers left unhandled is escalated to.
    """
    chain = path_ids(path)
    if above is not None and above in chain:
        chain = chain[: chain.index(above)]
    for org_id in reversed(chain):
        if org_id in handler_orgs:
            return org_id
    return None


def deadline_after(now: datetime, hours: int) -> datetime:
    return now + timedelta(hours=hours)


def is_overdue(state: AnomalyState, deadline: datetime | None, now: datetime) -> bool:
    """Open (nobody took it up) and past its deadline."""
    return state == AnomalyState.OPEN and deadline is not None and deadline <= now
