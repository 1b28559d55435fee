"""Inspections over REST for bank staff: start on site (QR + GPS) or beside a remote call,
open self-checks, fill in, capture evidence, submit, review."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from inspection_api.auth.endpoints import origin_of
from inspection_api.auth.permissions import Permission
from inspection_api.checkpoints import geo
from inspection_api.checkpoints.schemas import CheckInResultOut, FixIn
from inspection_api.db import one_writer, utcnow
from inspection_api.inspections import evidence, review, selfcheck, service, views
from inspection_api.inspections.errors import AnswersRefused
from inspection_api.inspections.evidence import Reader, Upload
from inspection_api.inspections.hooks import InspectionHook
from inspection_api.inspections.models import ReviewDecision
from inspection_api.inspections.repository import Row
from inspection_api.inspections.rules import Merged
from inspection_api.inspections.schemas import (
    ApproveIn,
    EvidenceFromUploadIn,
    EvidenceOut,
    EvidenceQuery,
    InspectionDetailOut,
    InspectionPage,
    InspectionQuery,
    InspectionUpdate,
    OnSiteStartIn,
    OnSiteStartOut,
    RemoteStartIn,
    ReturnIn,
    SelfCheckCreate,
    SelfCheckCreatedOut,
    SubmitIn,
)
from inspection_api.remote.rules import qr_svg
from inspection_api.uploads import service as uploads
from inspection_api.web.keys import (
    INSPECTION_APPROVED,
    INSPECTION_STARTED,
    INSPECTION_SUBMITTED,
    SETTINGS,
    STORE,
)
from inspection_api.web.problems import error_response
from inspection_api.web.routing import ApiRoutes, Ctx

api = ApiRoutes(tag="inspections")

INSPECTIONS = "/api/v1/inspections"
ONE = INSPECTIONS + "/{inspection_id}"
_CHUNK = 256 * 1024


def hooks(ctx: Ctx, key: web.AppKey[list[InspectionHook]]) -> list[InspectionHook]:
    return ctx.app[key]


def to_fix(fix: FixIn | None) -> geo.Fix | None:
    if fix is None:
        return None
    return geo.Fix(fix.latitude, fix.longitude, fix.accuracy, fix.captured_at)


def upload_of(ctx: Ctx, query: EvidenceQuery) -> Upload:
    fix = None
    if query.latitude is not None:
        assert query.longitude is not None and query.accuracy is not None
        assert query.fix_captured_at is not None
        fix = geo.Fix(query.latitude, query.longitude, query.accuracy, query.fix_captured_at)
    return Upload(
        item_key=query.item_key,
        kind=query.kind,
        content_type=ctx.request.headers.get("Content-Type", ""),
        sha256=query.sha256.lower(),
        captured_at=query.captured_at,
        device_id=query.device_id,
        fix=fix,
        declared_size=ctx.request.content_length,
    )


def body_reader(ctx: Ctx) -> Reader:
    """Reads the raw request body, stopping once it passed ``limit`` bytes."""

    async def read(limit: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in ctx.request.content.iter_chunked(_CHUNK):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                break
        return b"".join(chunks)

    return read


async def _detail(ctx: Ctx, row: Row) -> InspectionDetailOut:
    return await views.detail(ctx.session, ctx.app[STORE], ctx.app[SETTINGS], row, ctx.user)


@api.route(
    "GET",
    INSPECTIONS,
    summary="辖区内检查记录 Inspections in my jurisdiction",
    query=InspectionQuery,
    response=InspectionPage,
)
async def list_inspections(ctx: Ctx, *, query: InspectionQuery) -> InspectionPage:
    """Newest first; filter by `state`, `kind`, `org_id` (its subtree), `checkpoint_id`,
    `remote_session_id`, `inspector_user_id`; page with `offset`/`limit`."""
    filters = query.model_dump(
        include={"state", "kind", "checkpoint_id", "remote_session_id", "inspector_user_id"}
    )
    rows, total = await service.list_inspections(
        ctx.session,
        ctx.user,
        filters,
        org_id=query.org_id,
        offset=query.offset,
        limit=query.limit,
    )
    return InspectionPage.of([views.summary(r) for r in rows], total, query)


@api.route(
    "POST",
    INSPECTIONS + "/on-site",
    summary="现场扫码开始检查 Start (or resume) an on-site inspection",
    body=OnSiteStartIn,
    response=OnSiteStartOut,
    status=201,
    problems={410: "The label was retired (qr_retired)"},
)
async def start_on_site(ctx: Ctx, *, body: OnSiteStartIn) -> OnSiteStartOut:
    """`qr` is what the camera read, `fix` the phone's position: the check-in binds the
    checkpoint's GPS position at the first scan, else must be inside its radius (422
    `location_out_of_range`). Resumes my inspection in progress at the checkpoint."""
    fix = to_fix(body.fix)
    assert fix is not None
    row, result, resumed = await service.start_on_site(
        ctx.session,
        ctx.app[SETTINGS],
        ctx.user,
        qr=body.qr,
        fix=fix,
        template_id=body.template_id,
        now=utcnow(),
        origin=origin_of(ctx),
        hooks=hooks(ctx, INSPECTION_STARTED),
    )
    return OnSiteStartOut(
        inspection=await _detail(ctx, row),
        check_in=CheckInResultOut(
            outcome=result.outcome,
            distance_m=round(result.distance_m, 1),
            radius_m=result.radius_m,
            accuracy_m=result.accuracy_m,
        ),
        resumed=resumed,
    )


@api.route(
    "POST",
    INSPECTIONS + "/remote",
    summary="远程巡检检查表 Start the checklist of a remote inspection",
    body=RemoteStartIn,
    response=InspectionDetailOut,
    status=201,
    problems={409: "The remote inspection has an inspection already"},
)
async def start_remote(ctx: Ctx, *, body: RemoteStartIn) -> InspectionDetailOut:
    """One per remote session (`remote_already_linked` names the existing one)."""
    row = await service.start_remote(
        ctx.session,
        ctx.user,
        remote_session_id=body.remote_session_id,
        checkpoint_id=body.checkpoint_id,
        template_id=body.template_id,
        origin=origin_of(ctx),
        hooks=hooks(ctx, INSPECTION_STARTED),
    )
    return await _detail(ctx, row)


@api.route(
    "POST",
    INSPECTIONS + "/self-check",
    summary="发起企业自检 Open a self-check and its invite link",
    body=SelfCheckCreate,
    response=SelfCheckCreatedOut,
    status=201,
    problems={409: "The checkpoint has no GPS position yet"},
)
async def create_self_check(ctx: Ctx, *, body: SelfCheckCreate) -> SelfCheckCreatedOut:
    """The link (and its QR code) is in this response only: the server keeps its digest."""
    row, token, invite = await selfcheck.start_self_check(
        ctx.session,
        ctx.user,
        checkpoint_id=body.checkpoint_id,
        contact_name=body.contact_name,
        expires_in_minutes=body.expires_in_minutes,
        template_id=body.template_id,
        origin=origin_of(ctx),
        hooks=hooks(ctx, INSPECTION_STARTED),
    )
    url = selfcheck.self_check_url(ctx.app[SETTINGS], token)
    return SelfCheckCreatedOut(
        inspection=views.summary(row),
        url=url,
        token=token,
        qr_svg=await asyncio.to_thread(qr_svg, url),
        expires_at=invite.expires_at,
    )


@api.route(
    "POST",
    ONE + "/revoke-invites",
    summary="撤销自检链接 Revoke a self-check's links",
    response=InspectionDetailOut,
)
async def revoke_self_check_invites(ctx: Ctx, *, inspection_id: int) -> InspectionDetailOut:
    row = await selfcheck.revoke_invites(
        ctx.session, ctx.user, inspection_id, origin=origin_of(ctx)
    )
    return await _detail(ctx, row)


@api.route("GET", ONE, summary="检查记录详情 One inspection", response=InspectionDetailOut)
async def get_inspection(ctx: Ctx, *, inspection_id: int) -> InspectionDetailOut:
    """Answers, evidence (signed URLs, valid an hour), findings, reviews, what is missing."""
    row = await service.visible(ctx.session, ctx.user, inspection_id, Permission.INSPECTION_READ)
    return await _detail(ctx, row)


ANSWERS_REFUSED = (
    "Some of it refused (`answers_refused`): `errors` names each refused item (`item_key`, "
    "`message` with its title), `saved` the item keys stored, `inspection` the inspection "
    "as now stored. Everything valid in the request WAS saved."
)


@asynccontextmanager
async def one_save_at_a_time(ctx: Ctx) -> AsyncIterator[None]:
    """Around a draft save, committed inside: saves of an inspection at the same time (two
    tabs, a retry) each merge into what the one before stored. PostgreSQL: ``merge`` reads
    the row again under its lock; SQLite (no row locks): this process's one writer at a time."""
    async with one_writer(ctx.session):
        yield
        await ctx.session.commit()


def saved_or_refused(
    ctx: Ctx, detail: InspectionDetailOut, merged: Merged
) -> InspectionDetailOut | web.Response:
    """The detail when all of a draft save was stored, else the 422 ``answers_refused``
    problem (sent after the commit: what was valid is stored all the same)."""
    if not merged.refused:
        return detail
    inspection = detail.model_dump(mode="json", by_alias=True)
    refused = AnswersRefused(merged.refused, merged.saved, inspection)
    return error_response(ctx.request, refused)


@api.route(
    "PATCH",
    ONE,
    summary="保存检查内容（逐项合并）Save answers item by item, flags, 整改意见",
    body=InspectionUpdate,
    response=InspectionDetailOut,
    problems={409: "Not in progress or returned", 422: ANSWERS_REFUSED},
)
async def update_inspection(
    ctx: Ctx, *, inspection_id: int, body: InspectionUpdate
) -> InspectionDetailOut | web.Response:
    """Draft saves merge `answers` item by item: each key sent replaces that item's answer,
    `null` clears it, keys not sent stay. Answers may be incomplete (submitting checks them
    fully); an invalid one is refused on its own, and the valid ones of the same request are
    stored: 200 with the inspection when all was stored, else 422 `answers_refused`. `flags`
    and `rectification_opinion` replace theirs when sent."""
    async with one_save_at_a_time(ctx):
        row = await service.editable(ctx.session, ctx.user, inspection_id, ("保存", "save it"))
        merged = await service.merge(ctx.session, row, service.Actor(ctx.user), body.changes())
    return saved_or_refused(ctx, await _detail(ctx, row), merged)


@api.route(
    "POST",
    ONE + "/evidence",
    summary="上传取证文件 Upload a live capture (raw body)",
    query=EvidenceQuery,
    response=EvidenceOut,
    status=201,
    problems={413: "Larger than LOANCHECK_EVIDENCE_MAX_MB", 415: "Type not allowed for the kind"},
)
async def upload_evidence(ctx: Ctx, *, inspection_id: int, query: EvidenceQuery) -> EvidenceOut:
    """The body is the file itself, its MIME type in `Content-Type` (photo: image/jpeg,
    image/png, image/webp; video: video/webm, video/mp4; audio: audio/webm, audio/ogg,
    audio/mp4) and checked against its bytes. Refused: a SHA-256 other than the body's
    (`evidence_tampered`), a capture time outside the inspection (`capture_outside_window`),
    on site a fix outside the radius (`location_out_of_range`). The same file twice is
    stored once."""
    row = await service.editable(ctx.session, ctx.user, inspection_id, ("取证", "add evidence"))
    item, _created = await evidence.add_evidence(
        ctx.session,
        ctx.app[STORE],
        ctx.app[SETTINGS],
        row,
        service.Actor(ctx.user, device_id=query.device_id),
        upload_of(ctx, query),
        body_reader(ctx),
        origin=origin_of(ctx),
    )
    return await views.evidence_out(ctx.app[STORE], item)


@api.route(
    "POST",
    ONE + "/evidence/from-upload",
    summary="附加已上传的取证 Attach a capture sent by resumable upload",
    body=EvidenceFromUploadIn,
    response=EvidenceOut,
    status=201,
    problems={409: "The upload is not complete, or attached elsewhere"},
)
async def attach_uploaded_evidence(
    ctx: Ctx, *, inspection_id: int, body: EvidenceFromUploadIn
) -> EvidenceOut:
    """The online path of the phone: the file goes up by tus (`/api/v1/uploads`, resumable,
    checksummed), then this attaches it with the same checks as a raw upload (type and
    first bytes, capture window, on site the fix inside the radius, size, SHA-256 of the
    assembled file). An incomplete upload is 409 `upload_incomplete`; the same upload
    attached again to the same item answers the evidence already stored."""
    row = await service.editable(ctx.session, ctx.user, inspection_id, ("取证", "add evidence"))
    actor = service.Actor(ctx.user, device_id=body.device_id)
    return await attach_from_upload(ctx, row, actor, uploads.Owner(user_id=ctx.user.user_id), body)


async def attach_from_upload(
    ctx: Ctx, row: Row, actor: service.Actor, owner: uploads.Owner, body: EvidenceFromUploadIn
) -> EvidenceOut:
    """Attach `owner`'s upload `body.upload_id` (anyone else's is 404) to `row`'s item.
    Read and written in line with the process's other writers and committed here (on
    SQLite a second attach of the same upload, the phone's retry racing its first try,
    then reads what the first stored and answers its row)."""
    async with one_writer(ctx.session):
        stored = await uploads.get(ctx.session, owner, body.upload_id)
        upload = Upload(
            item_key=body.item_key,
            kind=body.kind,
            content_type=stored.content_type,
            sha256=body.sha256.lower(),
            captured_at=body.captured_at,
            device_id=body.device_id,
            fix=to_fix(body.fix),
            declared_size=stored.length,
        )
        item, _created = await evidence.attach_online(
            ctx.session,
            ctx.app[SETTINGS],
            row,
            actor,
            upload,
            stored,
            origin=origin_of(ctx),
        )
        await ctx.session.commit()
    return await views.evidence_out(ctx.app[STORE], item)


@api.route(
    "GET",
    ONE + "/evidence/{evidence_id}",
    summary="取证文件 One piece of evidence (fresh signed URL)",
    response=EvidenceOut,
)
async def get_evidence(ctx: Ctx, *, inspection_id: int, evidence_id: int) -> EvidenceOut:
    _row, item = await evidence.evidence_item(ctx.session, ctx.user, inspection_id, evidence_id)
    return await views.evidence_out(ctx.app[STORE], item)


@api.route(
    "DELETE",
    ONE + "/evidence/{evidence_id}",
    summary="删除取证 Remove evidence from its item",
)
async def remove_evidence(ctx: Ctx, *, inspection_id: int, evidence_id: int) -> None:
    """While editing; the file stays in the store for the audit trail."""
    row = await service.editable(ctx.session, ctx.user, inspection_id, ("删除取证", "remove"))
    await evidence.remove_evidence(
        ctx.session, row, service.Actor(ctx.user), evidence_id, origin=origin_of(ctx)
    )


@api.route(
    "POST",
    ONE + "/submit",
    summary="提交检查 Submit (or resubmit) an inspection",
    body=SubmitIn,
    response=InspectionDetailOut,
    problems={409: "Not in progress or returned"},
)
async def submit_inspection(ctx: Ctx, *, inspection_id: int, body: SubmitIn) -> InspectionDetailOut:
    """On site a current `fix` inside the checkpoint's radius is required (422
    `location_out_of_range` with `distance_m`, `radius_m`); every required item answered
    (422 `validation_failed` naming `answers.<key>`); every required piece of evidence there
    (422 `evidence_missing`, with `missing[]` per item and kind)."""
    row = await service.editable(ctx.session, ctx.user, inspection_id, ("提交", "submit it"))
    await service.submit(
        ctx.session,
        ctx.app[SETTINGS],
        row,
        service.Actor(ctx.user),
        fix=to_fix(body.fix),
        now=utcnow(),
        origin=origin_of(ctx),
        hooks=hooks(ctx, INSPECTION_SUBMITTED),
    )
    return await _detail(ctx, row)


@api.route(
    "POST",
    ONE + "/approve",
    summary="审核通过 Approve a submitted inspection",
    body=ApproveIn,
    response=InspectionDetailOut,
    problems={409: "Not submitted"},
)
async def approve_inspection(
    ctx: Ctx, *, inspection_id: int, body: ApproveIn
) -> InspectionDetailOut:
    """Never one's own inspection (403 `own_review`)."""
    row = await review.review(
        ctx.session,
        ctx.user,
        inspection_id,
        ReviewDecision.APPROVED,
        body.comment,
        origin=origin_of(ctx),
        hooks=hooks(ctx, INSPECTION_APPROVED),
    )
    return await _detail(ctx, row)


@api.route(
    "POST",
    ONE + "/return",
    summary="退回 Return a submitted inspection to its inspector",
    body=ReturnIn,
    response=InspectionDetailOut,
    problems={409: "Not submitted"},
)
async def return_inspection(ctx: Ctx, *, inspection_id: int, body: ReturnIn) -> InspectionDetailOut:
    """With the reason (`comment`, required): the inspector edits and submits again."""
    row = await review.review(
        ctx.session,
        ctx.user,
        inspection_id,
        ReviewDecision.RETURNED,
        body.comment,
        origin=origin_of(ctx),
    )
    return await _detail(ctx, row)
