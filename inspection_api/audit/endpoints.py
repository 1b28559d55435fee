"""The audit log of the caller's jurisdiction."""

from __future__ import annotations

from aiohttp import web

from inspection_api.audit import export, service
from inspection_api.audit.actions import OBJECT_TYPE_LABELS, label_of
from inspection_api.audit.schemas import (
    AuditActionOut,
    AuditFilterQuery,
    AuditOut,
    AuditQuery,
    DetailPartOut,
)
from inspection_api.db import utcnow
from inspection_api.web.downloads import download
from inspection_api.web.routing import ApiRoutes, Ctx

api = ApiRoutes(tag="audit")
CSV = "text/csv"


def _filters(query: AuditFilterQuery) -> service.AuditFilters:
    return service.AuditFilters(
        date_from=query.date_from,
        date_to=query.date_to,
        actor_user_id=query.actor_user_id,
        action=query.action,
        object_type=query.object_type,
    )


@api.route(
    "GET",
    "/api/v1/audit-events",
    summary="审计日志 Audit log",
    query=AuditQuery,
    response=list[AuditOut],
)
async def list_audit_events(ctx: Ctx, *, query: AuditQuery) -> list[AuditOut]:
    """Newest first; page with `before_id` (the last id of the page before, with the same
    filters). `date_from`/`date_to` are Beijing days, both inclusive. Records the detail
    refers to by id are named in `names` (inside the caller's jurisdiction); `detail_parts`
    words the detail as the page shows it and the export's 详情 says it."""
    events = await service.list_events(
        ctx.session, ctx.user, _filters(query), before_id=query.before_id, limit=query.limit
    )
    named = await service.name_events(ctx.session, ctx.user, events)
    return [
        AuditOut.model_validate(n.event).model_copy(
            update={
                "action_label": label_of(n.event.action),
                "actor_name": n.actor_name,
                "names": n.names,
                "refs": n.refs,
                "detail_parts": [DetailPartOut.model_validate(part) for part in n.parts],
            }
        )
        for n in named
    ]


@api.route(
    "GET",
    "/api/v1/audit-events/actions",
    summary="审计日志的操作类型 Audit actions",
    response=list[AuditActionOut],
)
async def list_audit_actions(ctx: Ctx) -> list[AuditActionOut]:
    """Every action the log records, with its 操作类型 and 对象类型 in Chinese: the filters'
    choices."""
    return [
        AuditActionOut(
            action=name,
            label=action.zh,
            object_type=action.object_type,
            object_label=OBJECT_TYPE_LABELS[action.object_type][0],
        )
        for name, action in service.known_actions(ctx.user).items()
    ]


@api.route(
    "GET",
    "/api/v1/audit-events/export",
    summary="导出审计日志 Export the audit log (.csv)",
    query=AuditFilterQuery,
    media_type=CSV,
)
async def export_audit_events(ctx: Ctx, *, query: AuditFilterQuery) -> web.StreamResponse:
    """Every event the filters select (those of `GET /audit-events`, every page), newest
    first, as CSV for Excel: UTF-8 with a BOM, Chinese headers, Beijing times. Bad filters
    are the same 422s as the list's."""
    batches = await service.stream_events(ctx.session, ctx.user, _filters(query))
    handle = await export.write(batches)
    name = export.filename(utcnow())
    return download(handle, name=name, fallback="audit-log.csv", content_type=CSV, charset="utf-8")
