"""企业自检 over REST for the enterprise contact: no account, the invite token is the
credential and ``X-Device-Id`` the phone it is bound to (at the first use)."""

from __future__ import annotations

from aiohttp import web

from inspection_api.auth.endpoints import origin_of
from inspection_api.db import utcnow
from inspection_api.inspections import evidence, selfcheck, selfcheck_sync, service, views
from inspection_api.inspections.endpoints import (
    ANSWERS_REFUSED,
    attach_from_upload,
    body_reader,
    hooks,
    one_save_at_a_time,
    saved_or_refused,
    to_fix,
    upload_of,
)
from inspection_api.inspections.repository import Row
from inspection_api.inspections.schemas import (
    ContactUpdate,
    EvidenceFromUploadIn,
    EvidenceOut,
    EvidenceQuery,
    FixOnlyIn,
    InspectionDetailOut,
    OnSiteStartOut,
    SubmitIn,
)
from inspection_api.inspections.service import Actor
from inspection_api.web.keys import INSPECTION_SUBMITTED, SETTINGS, STORE
from inspection_api.web.routing import ApiRoutes, Ctx

api = ApiRoutes(tag="self-checks")

ONE = "/api/v1/self-checks/{token}"
TOKEN: dict[str, type] = {"token": str}
DEVICE_HEADER = "X-Device-Id"
_PROBLEMS = {
    404: "Not a valid link (invite_not_found)",
    409: "The link is in use on another phone (invite_in_use)",
    410: "The link expired or was revoked",
}


async def _resolve(ctx: Ctx, token: str) -> tuple[Row, Actor]:
    return await selfcheck.resolve(ctx.session, token, ctx.request.headers.get(DEVICE_HEADER, ""))


async def _detail(ctx: Ctx, row: Row) -> InspectionDetailOut:
    return await views.detail(ctx.session, ctx.app[STORE], ctx.app[SETTINGS], row, None)


@api.route(
    "GET",
    ONE,
    summary="企业自检 The self-check a link opens (public)",
    response=InspectionDetailOut,
    public=True,
    path_types=TOKEN,
    problems=_PROBLEMS,
)
async def get_self_check(ctx: Ctx, *, token: str) -> InspectionDetailOut:
    """The first phone (`X-Device-Id`) to open the link is the only one it admits; with the
    link's end (`link_expires_at`), for a self-check the phone does offline."""
    row, _actor = await _resolve(ctx, token)
    detail = await _detail(ctx, row)
    invite = await selfcheck.find_invite(ctx.session, token)
    return detail.model_copy(update={"link_expires_at": invite.expires_at})


@api.route(
    "POST",
    ONE + "/check-in",
    summary="自检现场定位 Check in at the checkpoint (public)",
    body=FixOnlyIn,
    response=OnSiteStartOut,
    public=True,
    path_types=TOKEN,
    problems=_PROBLEMS,
)
async def check_in_self_check(ctx: Ctx, *, token: str, body: FixOnlyIn) -> OnSiteStartOut:
    """Verified against the bound position (a contact never binds it)."""
    row, actor = await _resolve(ctx, token)
    fix = to_fix(body.fix)
    assert fix is not None
    checked_in_before = row.inspection.checked_in_at is not None
    result = await selfcheck.check_in(
        ctx.session, ctx.app[SETTINGS], row, actor, fix, now=utcnow(), origin=origin_of(ctx)
    )
    return OnSiteStartOut.model_validate(
        {
            "inspection": await _detail(ctx, row),
            "check_in": {
                "outcome": result.outcome,
                "distance_m": round(result.distance_m, 1),
                "radius_m": result.radius_m,
                "accuracy_m": result.accuracy_m,
            },
            "resumed": checked_in_before,
        }
    )


@api.route(
    "PATCH",
    ONE,
    summary="保存自检内容（逐项合并）Save a self-check's answers item by item (public)",
    body=ContactUpdate,
    response=InspectionDetailOut,
    public=True,
    path_types=TOKEN,
    problems={**_PROBLEMS, 422: ANSWERS_REFUSED},
)
async def update_self_check(
    ctx: Ctx, *, token: str, body: ContactUpdate
) -> InspectionDetailOut | web.Response:
    """As for staff (`PATCH /api/v1/inspections/{id}`): answers merged item by item, the
    valid ones stored even when others are refused (422 `answers_refused`)."""
    async with one_save_at_a_time(ctx):
        row, actor = await _resolve(ctx, token)
        merged = await service.merge(ctx.session, row, actor, body.changes())
    return saved_or_refused(ctx, await _detail(ctx, row), merged)


@api.route(
    "POST",
    ONE + "/evidence",
    summary="自检取证 Upload a live capture (public, raw body)",
    query=EvidenceQuery,
    response=EvidenceOut,
    status=201,
    public=True,
    path_types=TOKEN,
    problems={**_PROBLEMS, 413: "Too large", 415: "Type not allowed"},
)
async def upload_self_check_evidence(ctx: Ctx, *, token: str, query: EvidenceQuery) -> EvidenceOut:
    """As for staff (`POST /api/v1/inspections/{id}/evidence`): fix required. The page
    sends captures by tus and `evidence/from-upload`; this one-request path stays for API
    clients."""
    row, actor = await _resolve(ctx, token)
    item, _created = await evidence.add_evidence(
        ctx.session,
        ctx.app[STORE],
        ctx.app[SETTINGS],
        row,
        actor,
        upload_of(ctx, query),
        body_reader(ctx),
        origin=origin_of(ctx),
    )
    return await views.evidence_out(ctx.app[STORE], item)


@api.route(
    "POST",
    ONE + "/evidence/from-upload",
    summary="自检附加已上传的取证 Attach a capture the link sent by resumable upload (public)",
    body=EvidenceFromUploadIn,
    response=EvidenceOut,
    status=201,
    public=True,
    path_types=TOKEN,
    problems={
        **_PROBLEMS,
        404: "Not a valid link, or not this link's upload",
        409: "The upload is not complete, or attached elsewhere",
    },
)
async def attach_self_check_upload(
    ctx: Ctx, *, token: str, body: EvidenceFromUploadIn
) -> EvidenceOut:
    """The online path of the contact's phone: the file goes up by tus under the link
    (`/api/v1/self-checks/{token}/uploads`), then this attaches it as the staff
    `POST /api/v1/inspections/{id}/evidence/from-upload` does (same body, same checks; fix
    required). Only the link's own uploads: another link's or staff's is 404."""
    row, actor = await _resolve(ctx, token)
    owner = selfcheck_sync.owner(await selfcheck.find_invite(ctx.session, token))
    return await attach_from_upload(ctx, row, actor, owner, body)


@api.route(
    "DELETE",
    ONE + "/evidence/{evidence_id}",
    summary="删除自检取证 Remove evidence (public)",
    public=True,
    path_types={**TOKEN, "evidence_id": int},
    problems=_PROBLEMS,
)
async def remove_self_check_evidence(ctx: Ctx, *, token: str, evidence_id: int) -> None:
    row, actor = await _resolve(ctx, token)
    await evidence.remove_evidence(ctx.session, row, actor, evidence_id, origin=origin_of(ctx))


@api.route(
    "POST",
    ONE + "/submit",
    summary="提交自检 Submit a self-check (public)",
    body=SubmitIn,
    response=InspectionDetailOut,
    public=True,
    path_types=TOKEN,
    problems=_PROBLEMS,
)
async def submit_self_check(ctx: Ctx, *, token: str, body: SubmitIn) -> InspectionDetailOut:
    """Same rules as an on-site submission: a fix inside the radius, complete answers,
    all required evidence."""
    row, actor = await _resolve(ctx, token)
    await service.submit(
        ctx.session,
        ctx.app[SETTINGS],
        row,
        actor,
        fix=to_fix(body.fix),
        now=utcnow(),
        origin=origin_of(ctx),
        hooks=hooks(ctx, INSPECTION_SUBMITTED),
    )
    return await _detail(ctx, row)
