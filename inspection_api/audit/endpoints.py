"""The audit log of the caller's jurisdiction."""

from __future__ import annotations

from inspection_api.audit import service
from inspection_api.audit.schemas import AuditOut, AuditQuery
from inspection_api.web.routing import ApiRoutes, Ctx

api = ApiRoutes(tag="audit")


@api.route(
    "GET",
    "/api/v1/audit-events",
    summary="审计日志 Audit log",
    query=AuditQuery,
    response=list[AuditOut],
)
async def list_audit_events(ctx: Ctx, *, query: AuditQuery) -> list[AuditOut]:
    """Newest first; page with `before_id`. Records the detail refers to by id are named in
    `names` (inside the caller's jurisdiction)."""
    events = await service.list_events(
        ctx.session, ctx.user, action=query.action, before_id=query.before_id, limit=query.limit
    )
    named = await service.name_events(ctx.session, ctx.user, events)
    return [
        AuditOut.model_validate(n.event).model_copy(
            update={"actor_name": n.actor_name, "names": n.names, "refs": n.refs}
        )
        for n in named
    ]
