"""Recording and reading audit events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.audit.actions import ACTIONS, Action, ObjectType, actions_of
from inspection_api.audit.detail import DetailPart, detail_parts
from inspection_api.audit.models import AuditEvent
from inspection_api.audit.repository import names_of, ref_keys, refs_of, wanted_by_kind
from inspection_api.auth.permissions import Permission, require
from inspection_api.auth.principal import Principal, Role
from inspection_api.beijing import utc_midnight
from inspection_api.db import utcnow
from inspection_api.errors import FieldError, ValidationFailed

# Events read and named at a time by an export (one naming query per chunk).
EXPORT_CHUNK = 1000


@dataclass(frozen=True)
class Origin:
    """Where a request came from, for the audit trail."""

    ip: str = ""
    user_agent: str = ""


def record(
    session: AsyncSession,
    action: str,
    *,
    origin: Origin,
    actor: Principal | None = None,
    actor_username: str = "",
    org_path: str | None = None,
    **detail: Any,
) -> AuditEvent:
    """Add an event to the session; it commits with the change it describes."""
    event = AuditEvent(
        action=action,
        actor_user_id=actor.user_id if actor else None,
        actor_username=actor.username if actor else actor_username,
        org_path=org_path if org_path is not None else (actor.org_path if actor else None),
        ip=origin.ip,
        user_agent=origin.user_agent,
        detail=detail,
    )
    session.add(event)
    return event


def known_actions(principal: Principal) -> dict[str, Action]:
    """The actions the log records (the filters' choices), for those who may read it."""
    require(principal, Permission.AUDIT_READ)
    return ACTIONS


@dataclass(frozen=True)
class AuditFilters:
    """What an auditor narrows the log to. Days are Beijing calendar days, both inclusive:
    ``date_from`` from its 00:00, ``date_to`` up to (not including) the next day's 00:00."""

    date_from: date | None = None
    date_to: date | None = None
    actor_user_id: int | None = None
    action: str | None = None
    object_type: ObjectType | None = None

    def check(self) -> None:
        """Refuse an action nobody records and a range that ends before it starts (422)."""
        errors = []
        if self.action and self.action not in ACTIONS:
            errors.append(
                FieldError(
                    "query.action",
                    f"操作类型「{self.action}」不存在",
                    f"no such action: {self.action}",
                )
            )
        if self.date_from and self.date_to and self.date_to < self.date_from:
            errors.append(
                FieldError(
                    "query.date_to", "结束日期不能早于开始日期", "must not be before date_from"
                )
            )
        if errors:
            raise ValidationFailed(errors)

    def moments(self) -> tuple[datetime | None, datetime | None]:
        """``[start, end)`` in UTC; None where the range is open. The calendar's first and last
        days leave it open too (their Beijing midnights in UTC fall outside ``datetime``)."""
        start = end = None
        if self.date_from and self.date_from > date.min:
            start = utc_midnight(self.date_from)
        if self.date_to and self.date_to < date.max:
            end = utc_midnight(self.date_to + timedelta(days=1))
        return start, end


def _select(principal: Principal, filters: AuditFilters) -> Select[AuditEvent]:
    """The events the caller may read that the filters select: jurisdiction first, the
    filters only narrow it. The page and the export both start here."""
    require(principal, Permission.AUDIT_READ)
    filters.check()
    scope = AuditEvent.org_path.startswith(principal.org_path, autoescape=True)
    if principal.has(Role.SYSTEM_ADMIN):
        scope = or_(scope, AuditEvent.org_path.is_(None))
    query = select(AuditEvent).where(scope)
    start, end = filters.moments()
    if start is not None:
        query = query.where(AuditEvent.at >= start)
    if end is not None:
        query = query.where(AuditEvent.at < end)
    if filters.actor_user_id is not None:
        query = query.where(AuditEvent.actor_user_id == filters.actor_user_id)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.object_type:
        query = query.where(AuditEvent.action.in_(actions_of(filters.object_type)))
    return query


async def list_events(
    session: AsyncSession,
    principal: Principal,
    filters: AuditFilters = AuditFilters(),
    *,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """Newest first, inside the caller's jurisdiction; the filters only narrow it."""
    query = _select(principal, filters)
    if before_id:
        query = query.where(AuditEvent.id < before_id)
    query = query.order_by(AuditEvent.id.desc()).limit(limit)
    return list((await session.scalars(query)).all())


async def stream_events(
    session: AsyncSession,
    principal: Principal,
    filters: AuditFilters = AuditFilters(),
    *,
    chunk: int = EXPORT_CHUNK,
) -> AsyncIterator[list[NamedEvent]]:
    """Every event the filters select (as ``list_events`` pages them, newest first), named,
    in chunks read from a server-side cursor: a year of a 分行 never sits in memory. The
    caller's permission and the filters are checked before the first chunk is read."""
    query = _select(principal, filters).order_by(AuditEvent.id.desc())
    return _named_chunks(session, principal, query.execution_options(yield_per=chunk), chunk)


async def _named_chunks(
    session: AsyncSession, principal: Principal, query: Select[AuditEvent], chunk: int
) -> AsyncIterator[list[NamedEvent]]:
    result = await session.stream_scalars(query)
    async for events in result.partitions(chunk):
        yield await name_events(session, principal, list(events))


@dataclass(frozen=True)
class NamedEvent:
    """An event with what its actor and the records its detail refers to are called."""

    event: AuditEvent
    actor_name: str | None
    names: dict[str, str]  # "kind:id" → name
    refs: dict[str, str]  # detail key → the kind of record its value names

    @property
    def parts(self) -> list[DetailPart]:
        """The event's detail as the page and the export say it."""
        return detail_parts(self.event.action, self.event.detail, self.refs, self.names)


async def name_events(
    session: AsyncSession, principal: Principal, events: list[AuditEvent]
) -> list[NamedEvent]:
    """Name the actors and referenced records (one query for the whole page), only those
    inside the caller's jurisdiction: outside it a record keeps its bare id."""
    refs = {event.id: refs_of(event) for event in events}
    actors = {("user", e.actor_user_id) for e in events if e.actor_user_id is not None}
    wanted = wanted_by_kind(set().union(actors, *refs.values()))
    names = await names_of(session, wanted, principal.org_path, utcnow())
    return [
        NamedEvent(
            event=event,
            actor_name=names.get(f"user:{event.actor_user_id}"),
            names={
                key: names[key] for kind, rid in refs[event.id] if (key := f"{kind}:{rid}") in names
            },
            refs=ref_keys(event),
        )
        for event in events
    ]
