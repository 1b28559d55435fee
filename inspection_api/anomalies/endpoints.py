"""Anomalies (异常处理) over REST: the jurisdiction's anomalies, one with its history, and
the exception handlers' actions. New anomalies come from inspections (``raise_anomalies``)."""

from __future__ import annotations

from datetime import datetime

from inspection_api.anomalies import service
from inspection_api.anomalies.repository import AnomalyRow
from inspection_api.anomalies.rules import is_overdue
from inspection_api.anomalies.schemas import (
    AcknowledgeIn,
    AnomalyDetailOut,
    AnomalyEventOut,
    AnomalyOut,
    AnomalyPage,
    AnomalyQuery,
    ReassignIn,
    ReassignTargetOut,
    ResolveIn,
)
from inspection_api.auth.endpoints import origin_of
from inspection_api.db import utcnow
from inspection_api.web.keys import SETTINGS
from inspection_api.web.routing import ApiRoutes, Ctx

api = ApiRoutes(tag="anomalies")

ANOMALIES = "/api/v1/anomalies"
ONE = ANOMALIES + "/{anomaly_id}"
_OWN_FIELDS = set(AnomalyOut.model_fields) - {
    "org_name",
    "checkpoint_code",
    "checkpoint_name",
    "customer_name",
    "escalated",
    "handler_org_name",
    "overdue",
}
_STATE_CONFLICT = {409: "Not possible in its current state (anomaly_state_conflict)"}


def _out(row: AnomalyRow, now: datetime) -> AnomalyOut:
    anomaly = row.anomaly
    return AnomalyOut(
        **{name: getattr(anomaly, name) for name in _OWN_FIELDS},
        org_name=row.org.name,
        checkpoint_code=row.checkpoint.code,
        checkpoint_name=row.checkpoint.name,
        customer_name=row.checkpoint.customer_name,
        escalated=anomaly.escalation_level > 0,
        handler_org_name=row.handler_org.name if row.handler_org else None,
        overdue=is_overdue(anomaly.state, anomaly.deadline, now),
    )


async def _detail(ctx: Ctx, anomaly_id: int) -> AnomalyDetailOut:
    detail = await service.get_anomaly(ctx.session, ctx.user, anomaly_id)

    def org_name(org_id: int | None) -> str | None:
        return detail.orgs[org_id].name if org_id in detail.orgs else None

    return AnomalyDetailOut(
        **_out(detail.row, utcnow()).model_dump(),
        events=[
            AnomalyEventOut(
                id=e.id,
                at=e.at,
                kind=e.kind,
                actor_user_id=e.actor_user_id,
                actor_name=e.actor_name,
                from_org_id=e.from_org_id,
                from_org_name=org_name(e.from_org_id),
                to_org_id=e.to_org_id,
                to_org_name=org_name(e.to_org_id),
                comment=e.comment,
            )
            for e in detail.events
        ],
        can_handle=detail.can_handle,
        reassign_targets=[
            ReassignTargetOut(org_id=org.id, org_name=org.name, handlers=count)
            for org, count in detail.reassign_targets
        ],
    )


@api.route(
    "GET",
    ANOMALIES,
    summary="辖区内异常 Anomalies in my jurisdiction",
    query=AnomalyQuery,
    response=AnomalyPage,
)
async def list_anomalies(ctx: Ctx, *, query: AnomalyQuery) -> AnomalyPage:
    """Newest first. Filter by `state`, `org_id` (subtree), `checkpoint_id`, `severity`,
    `source`, `handler_org_id` (routed to that org's handlers), `escalated`, `overdue`; page
    with `offset`/`limit` (`total` counts all)."""
    now = utcnow()
    rows, total = await service.list_anomalies(
        ctx.session,
        ctx.user,
        query.model_dump(
            include={
                "state",
                "severity",
                "source",
                "checkpoint_id",
                "inspection_id",
                "handler_org_id",
                "escalated",
            }
        ),
        org_id=query.org_id,
        overdue=query.overdue,
        now=now,
        offset=query.offset,
        limit=query.limit,
    )
    return AnomalyPage.of([_out(row, now) for row in rows], total, query)


@api.route("GET", ONE, summary="异常详情 One anomaly with its history", response=AnomalyDetailOut)
async def get_anomaly(ctx: Ctx, *, anomaly_id: int) -> AnomalyDetailOut:
    """With its history (处理记录) and, for exception handlers, where it may be reassigned."""
    return await _detail(ctx, anomaly_id)


@api.route(
    "POST",
    ONE + "/acknowledge",
    summary="受理 Acknowledge (take up) an anomaly",
    body=AcknowledgeIn,
    response=AnomalyDetailOut,
    problems=_STATE_CONFLICT,
)
async def acknowledge_anomaly(
    ctx: Ctx, *, anomaly_id: int, body: AcknowledgeIn
) -> AnomalyDetailOut:
    """待处理 → 处理中; from then on it is not escalated. 409 when it is not open."""
    await service.acknowledge(
        ctx.session, ctx.user, anomaly_id, comment=body.comment, now=utcnow(), origin=origin_of(ctx)
    )
    return await _detail(ctx, anomaly_id)


@api.route(
    "POST",
    ONE + "/resolve",
    summary="处理完成 Resolve an anomaly",
    body=ResolveIn,
    response=AnomalyDetailOut,
    problems=_STATE_CONFLICT,
)
async def resolve_anomaly(ctx: Ctx, *, anomaly_id: int, body: ResolveIn) -> AnomalyDetailOut:
    """待处理/处理中 → 已处理 with the resolution text (处理结果). 409 when already resolved."""
    await service.resolve(
        ctx.session,
        ctx.user,
        anomaly_id,
        resolution=body.resolution,
        now=utcnow(),
        origin=origin_of(ctx),
    )
    return await _detail(ctx, anomaly_id)


@api.route(
    "POST",
    ONE + "/reassign",
    summary="转派 Reassign an anomaly to another org's exception handlers",
    body=ReassignIn,
    response=AnomalyDetailOut,
    problems=_STATE_CONFLICT,
)
async def reassign_anomaly(ctx: Ctx, *, anomaly_id: int, body: ReassignIn) -> AnomalyDetailOut:
    """To one of its `reassign_targets` (an org at or above its 支行, in my jurisdiction, with
    exception handlers): it is open again with a new deadline and they are notified."""
    await service.reassign(
        ctx.session,
        ctx.user,
        anomaly_id,
        handler_org_id=body.handler_org_id,
        comment=body.comment,
        now=utcnow(),
        deadline_hours=ctx.app[SETTINGS].anomaly_deadline_hours,
        origin=origin_of(ctx),
    )
    return await _detail(ctx, anomaly_id)
