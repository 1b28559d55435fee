"""Pushes that leave only after their transaction committed.

Services never import Socket.IO: they ``add`` a ``Push`` to their database session, and
whoever holds the notifier (the route after its commit, the escalation scheduler) calls
``deliver``. A push added in a transaction that rolls back is dropped, so a console never
hears of a row that does not exist.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

_PENDING = "loancheck.outbox.pending"  # added in the open transaction
_READY = "loancheck.outbox.ready"  # committed, not yet delivered


@dataclass(frozen=True)
class Push:
    """``event`` (``verb_noun``) with ``data`` to every console ``user_id`` has open."""

    user_id: int
    event: str
    data: dict[str, Any]


class PushTarget(Protocol):
    """What ``deliver`` needs of the notifier (``inspection_api.web.keys.Notifier``)."""

    async def to_user(self, user_id: int, event: str, data: Any) -> None: ...


def _committed(session: Session) -> None:
    session.info[_READY].extend(session.info[_PENDING])
    session.info[_PENDING].clear()


def _rolled_back(session: Session) -> None:
    session.info[_PENDING].clear()


def _queues(session: AsyncSession) -> Session:
    sync = session.sync_session
    if _PENDING not in sync.info:
        sync.info[_PENDING] = []
        sync.info[_READY] = []
        # Listeners on this session only, attached the first time it carries a push.
        event.listen(sync, "after_commit", _committed)
        event.listen(sync, "after_rollback", _rolled_back)
    return sync


def add(session: AsyncSession, push: Push) -> None:
    """Queue ``push`` until the session's transaction commits."""
    _queues(session).info[_PENDING].append(push)


def forward(source: AsyncSession, target: AsyncSession) -> None:
    """Hand the pushes ``source`` committed to ``target``, whose holder delivers them: a
    service that commits in sessions of its own (the offline sync) has its pushes sent by
    the route that called it, as if it had used the route's session."""
    pushes = take_committed(source)
    if pushes:
        _queues(target).info[_READY].extend(pushes)


def take_committed(session: AsyncSession) -> list[Push]:
    """The committed pushes not delivered yet; taking them empties the queue."""
    ready: list[Push] = session.sync_session.info.get(_READY, [])
    taken = list(ready)
    ready.clear()
    return taken


async def deliver(session: AsyncSession, target: PushTarget | None) -> int:
    """Send the committed pushes; return how many went out. A failed push (Redis down) is
    logged and skipped: the notification rows are committed and the inbox shows them."""
    sent = 0
    for push in take_committed(session):
        if target is None:
            continue
        try:
            await target.to_user(push.user_id, push.event, push.data)
            sent += 1
        except Exception:
            log.warning("push %s to user %s failed", push.event, push.user_id, exc_info=True)
    return sent
