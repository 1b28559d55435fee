"""The exception handlers' work on an anomaly: acknowledge (受理), resolve (处理完成),
reassign (转派). Each is one conditional update — of two handlers acting at once, or a
handler and the escalation run, one wins and the other gets ``AnomalyStateConflict`` — plus
a history entry, an audit event and an ``anomaly_updated`` push."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.anomalies import dispatch, repository
from inspection_api.anomalies.access import actor_name, in_jurisdiction
from inspection_api.anomalies.errors import AnomalyStateConflict
from inspection_api.anomalies.models import (
    STATE_LABELS,
    AnomalyEvent,
    AnomalyEventKind,
    AnomalyState,
)
from inspection_api.anomalies.repository import AnomalyRow
from inspection_api.anomalies.rules import (
    ACKNOWLEDGEABLE,
    REASSIGNABLE,
    RESOLVABLE,
    deadline_after,
    path_ids,
)
from inspection_api.audit.service import Origin, record
from inspection_api.auth.permissions import Permission
from inspection_api.auth.principal import Principal
from inspection_api.errors import InvalidField
from inspection_api.notifications.models import NotificationKind
from inspection_api.orgs.models import Org


async def reassign_targets(
    session: AsyncSession, principal: Principal, row: AnomalyRow
) -> list[tuple[Org, int]]:
    """(org, number of handlers) of the orgs an anomaly may be reassigned to: at or above its
    支行 (so the handlers there see it), inside the caller's jurisdiction, with exception
    handlers, other than the one it is routed to; nearest first."""
    chain = path_ids(row.org.path)
    handlers = await repository.handlers_in(session, chain)
    orgs = await repository.orgs_by_id(session, list(handlers))
    return [
        (orgs[org_id], len(handlers[org_id]))
        for org_id in reversed(chain)
        if org_id in handlers
        and org_id != row.anomaly.handler_org_id
        and principal.governs(orgs[org_id].path)
    ]


async def _transition(
    session: AsyncSession,
    principal: Principal,
    row: AnomalyRow,
    *,
    sources: frozenset[AnomalyState],
    refusal: tuple[str, str],
    values: dict[str, Any],
    event: AnomalyEvent,
    audit: str,
    origin: Origin,
) -> AnomalyRow:
    anomaly = row.anomaly
    if not await repository.move(session, anomaly, sources, **values):
        raise AnomalyStateConflict(state=STATE_LABELS[anomaly.state], action=refusal)
    event.anomaly_id = anomaly.id
    event.actor_user_id = principal.user_id
    event.actor_name = await actor_name(session, principal)
    session.add(event)
    record(
        session,
        audit,
        origin=origin,
        actor=principal,
        org_path=row.org.path,
        anomaly_id=anomaly.id,
        checkpoint_id=anomaly.checkpoint_id,
        comment=event.comment,
        to_org_id=event.to_org_id,
    )
    watchers = await dispatch.handlers_of(session, {event.from_org_id, anomaly.handler_org_id})
    dispatch.updated(session, anomaly, [*watchers, principal.user_id])
    fresh = await repository.get_row(session, anomaly.id)  # the handler org may have changed
    assert fresh is not None
    return fresh


async def acknowledge(
    session: AsyncSession,
    principal: Principal,
    anomaly_id: int,
    *,
    comment: str = "",
    now: datetime,
    origin: Origin,
) -> AnomalyRow:
    """待处理 → 处理中 (受理): a handler takes it up; it is no longer escalated."""
    row = await in_jurisdiction(session, principal, anomaly_id, Permission.ANOMALY_HANDLE)
    return await _transition(
        session,
        principal,
        row,
        sources=ACKNOWLEDGEABLE,
        refusal=("受理", "acknowledge it"),
        values={
            "state": AnomalyState.ACKNOWLEDGED,
            "acknowledged_at": now,
            "acknowledged_by_user_id": principal.user_id,
            "updated_at": now,
        },
        event=AnomalyEvent(at=now, kind=AnomalyEventKind.ACKNOWLEDGED, comment=comment),
        audit="anomaly_acknowledged",
        origin=origin,
    )


async def resolve(
    session: AsyncSession,
    principal: Principal,
    anomaly_id: int,
    *,
    resolution: str,
    now: datetime,
    origin: Origin,
) -> AnomalyRow:
    """待处理/处理中 → 已处理, with what was done (处理结果, required)."""
    row = await in_jurisdiction(session, principal, anomaly_id, Permission.ANOMALY_HANDLE)
    if not resolution.strip():
        raise InvalidField("body.resolution", "请填写处理结果", "the resolution is required")
    return await _transition(
        session,
        principal,
        row,
        sources=RESOLVABLE,
        refusal=("标记为已处理", "resolve it"),
        values={
            "state": AnomalyState.RESOLVED,
            "resolved_at": now,
            "resolved_by_user_id": principal.user_id,
            "resolution": resolution,
            "updated_at": now,
        },
        event=AnomalyEvent(at=now, kind=AnomalyEventKind.RESOLVED, comment=resolution),
        audit="anomaly_resolved",
        origin=origin,
    )


async def reassign(
    session: AsyncSession,
    principal: Principal,
    anomaly_id: int,
    *,
    handler_org_id: int,
    comment: str = "",
    now: datetime,
    deadline_hours: int,
    origin: Origin,
) -> AnomalyRow:
    """转派 to the handlers of one of ``reassign_targets``: the anomaly is open again, with a
    new deadline, and they are notified."""
    row = await in_jurisdiction(session, principal, anomaly_id, Permission.ANOMALY_HANDLE)
    if row.anomaly.state not in REASSIGNABLE:
        raise AnomalyStateConflict(
            state=STATE_LABELS[row.anomaly.state], action=("转派", "reassign it")
        )
    targets = {org.id: org for org, _ in await reassign_targets(session, principal, row)}
    if handler_org_id not in targets:
        raise InvalidField(
            "body.handler_org_id",
            "只能转派给异常所属支行或其上级机构中、您辖区内设有异常处理人的其他机构",
            "pick another org at or above the anomaly's sub-branch, in your jurisdiction, "
            "that has exception handlers",
        )
    return await _send_to(
        session,
        principal,
        row,
        targets[handler_org_id],
        comment=comment,
        now=now,
        deadline_hours=deadline_hours,
        origin=origin,
    )


async def _send_to(
    session: AsyncSession,
    principal: Principal,
    row: AnomalyRow,
    target: Org,
    *,
    comment: str,
    now: datetime,
    deadline_hours: int,
    origin: Origin,
) -> AnomalyRow:
    """转派 ``row`` to ``target``'s handlers: open again, a new deadline, and they are told."""
    row = await _transition(
        session,
        principal,
        row,
        sources=REASSIGNABLE,
        refusal=("转派", "reassign it"),
        values={
            "state": AnomalyState.OPEN,
            "handler_org_id": target.id,
            "deadline": deadline_after(now, deadline_hours),
            "acknowledged_at": None,
            "acknowledged_by_user_id": None,
            "updated_at": now,
        },
        event=AnomalyEvent(
            at=now,
            kind=AnomalyEventKind.REASSIGNED,
            from_org_id=row.anomaly.handler_org_id,
            to_org_id=target.id,
            comment=comment,
        ),
        audit="anomaly_reassigned",
        origin=origin,
    )
    handlers = await dispatch.handlers_of(session, [target.id])
    await dispatch.tell(
        session,
        [user for user in handlers if user != principal.user_id],
        NotificationKind.ANOMALY_REASSIGNED,
        row.anomaly,
        row.checkpoint,
        row.org,
        now=now,
        to_org=target,
        actor_name=await actor_name(session, principal),
    )
    return row


async def route_unrouted(
    session: AsyncSession,
    principal: Principal,
    org: Org,
    *,
    now: datetime,
    deadline_hours: int,
    origin: Origin,
) -> list[AnomalyRow]:
    """Once an administrator appoints exception handlers in ``org``, the open anomalies of
    ``org`` and below that were routed to nobody go at once to the nearest handlers they now
    have (a 转派 by that administrator), instead of waiting for a deadline that, with
    nobody above, was already cleared."""
    routed = []
    for row in await repository.rows_with_ids(
        session, await repository.unrouted_ids(session, org.path)
    ):
        target_id, _ = await dispatch.handler_org_for(session, row.org)
        if target_id is None:
            continue
        target = (await repository.orgs_by_id(session, [target_id]))[target_id]
        routed.append(
            await _send_to(
                session,
                principal,
                row,
                target,
                comment="已设置异常处理人",
                now=now,
                deadline_hours=deadline_hours,
                origin=origin,
            )
        )
    return routed
