"""Rectifications (整改意见) over REST: staff issue, list, read (with history and photos),
close, reopen and renew the contact's link; the public ``/api/v1/rectify/{token}`` serves
the contact's phone page (read, reply with photos as multipart/form-data)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from aiohttp import web

from inspection_api.auth.endpoints import origin_of
from inspection_api.checkpoints.qr import qr_svg
from inspection_api.db import utcnow
from inspection_api.rectifications import service
from inspection_api.rectifications.models import RectificationEvent, RectificationPhoto
from inspection_api.rectifications.repository import RectificationRow
from inspection_api.rectifications.rules import (
    MAX_PHOTOS,
    REPLYABLE,
    is_overdue,
    link_status,
    rectify_url,
)
from inspection_api.rectifications.schemas import (
    CloseIn,
    LinkOut,
    PhotoOut,
    PublicEventOut,
    RectificationCreate,
    RectificationCreatedOut,
    RectificationDetailOut,
    RectificationEventOut,
    RectificationOut,
    RectificationPage,
    RectificationQuery,
    RectifyPublicOut,
    RenewLinkIn,
    ReopenIn,
    ReplyOut,
)
from inspection_api.rectifications.uploads import read_reply
from inspection_api.web.keys import SETTINGS, STORE
from inspection_api.web.routing import ApiRoutes, Ctx

api = ApiRoutes(tag="rectifications")

RECTIFICATIONS = "/api/v1/rectifications"
ONE = RECTIFICATIONS + "/{rectification_id}"
RECTIFY = "/api/v1/rectify/{token}"
_OWN_FIELDS = set(RectificationOut.model_fields) - {
    "org_name",
    "checkpoint_code",
    "checkpoint_name",
    "customer_name",
    "anomaly_indicator",
    "responsible_name",
    "overdue",
    "link_status",
}
_STATE_CONFLICT = {409: "Not possible in its current state (rectification_state_conflict)"}
_LINK_PROBLEMS = {
    404: "Not a valid link: forged, mistyped or replaced (rectify_link_not_found)",
    410: "The link expired (rectify_link_expired)",
}


def _out(row: RectificationRow, now: datetime) -> RectificationOut:
    rectification = row.rectification
    return RectificationOut(
        **{name: getattr(rectification, name) for name in _OWN_FIELDS},
        org_name=row.org.name,
        checkpoint_code=row.checkpoint.code,
        checkpoint_name=row.checkpoint.name,
        customer_name=row.checkpoint.customer_name,
        anomaly_indicator=row.anomaly.indicator if row.anomaly else None,
        responsible_name=row.responsible.display_name,
        overdue=is_overdue(rectification.state, rectification.due_date, now),
        link_status=link_status(rectification, now),
    )


def _photo_out(photo: RectificationPhoto) -> PhotoOut:
    return PhotoOut(
        id=photo.id,
        filename=photo.filename,
        content_type=photo.content_type,
        size=photo.size,
        sha256=photo.sha256,
        uploaded_at=photo.uploaded_at,
        url=f"{RECTIFICATIONS}/{photo.rectification_id}/photos/{photo.id}",
    )


async def _detail(ctx: Ctx, rectification_id: int) -> RectificationDetailOut:
    row, events, photos, can_manage = await service.get_rectification(
        ctx.session, ctx.user, rectification_id
    )

    def event_out(event: RectificationEvent) -> RectificationEventOut:
        return RectificationEventOut(
            id=event.id,
            at=event.at,
            kind=event.kind,
            actor_user_id=event.actor_user_id,
            actor_name=event.actor_name,
            comment=event.comment,
            due_date=event.due_date,
            photos=[_photo_out(photo) for photo in photos.get(event.id, [])],
        )

    return RectificationDetailOut(
        **_out(row, utcnow()).model_dump(),
        events=[event_out(event) for event in events],
        can_manage=can_manage,
    )


async def _link(ctx: Ctx, token: str, expires_at: datetime | None) -> LinkOut:
    assert expires_at is not None  # just set
    url = rectify_url(ctx.app[SETTINGS], token)
    return LinkOut(
        url=url, token=token, expires_at=expires_at, qr_svg=await asyncio.to_thread(qr_svg, url)
    )


@api.route(
    "POST",
    RECTIFICATIONS,
    summary="下发整改意见 Issue a rectification",
    body=RectificationCreate,
    response=RectificationCreatedOut,
    status=201,
)
async def create_rectification(ctx: Ctx, *, body: RectificationCreate) -> RectificationCreatedOut:
    """For a checkpoint of my jurisdiction (or the checkpoint of `anomaly_id`). The contact
    and phone default to the checkpoint's, the responsible user to me. The reply link (and
    its QR code) is in this response only: the server keeps its digest."""
    token, row = await service.create(
        ctx.session, ctx.user, body, now=utcnow(), origin=origin_of(ctx)
    )
    detail = await _detail(ctx, row.rectification.id)
    return RectificationCreatedOut(
        rectification=detail, link=await _link(ctx, token, row.rectification.link_expires_at)
    )


@api.route(
    "GET",
    RECTIFICATIONS,
    summary="辖区内整改意见 Rectifications in my jurisdiction",
    query=RectificationQuery,
    response=RectificationPage,
)
async def list_rectifications(ctx: Ctx, *, query: RectificationQuery) -> RectificationPage:
    """Newest first. Filter by `state`, `org_id` (subtree), `checkpoint_id`, `anomaly_id`,
    `inspection_id`, `responsible_user_id`, `overdue`; page with `offset`/`limit`."""
    now = utcnow()
    rows, total = await service.list_rectifications(
        ctx.session,
        ctx.user,
        query.model_dump(
            include={
                "state",
                "checkpoint_id",
                "anomaly_id",
                "inspection_id",
                "responsible_user_id",
            }
        ),
        org_id=query.org_id,
        overdue=query.overdue,
        now=now,
        offset=query.offset,
        limit=query.limit,
    )
    return RectificationPage.of([_out(row, now) for row in rows], total, query)


@api.route(
    "GET",
    ONE,
    summary="整改意见详情 One rectification with its history",
    response=RectificationDetailOut,
)
async def get_rectification(ctx: Ctx, *, rectification_id: int) -> RectificationDetailOut:
    """Every step (下发, 企业反馈 with photos, 关闭, 重新整改, 重新生成链接): who, when, what."""
    return await _detail(ctx, rectification_id)


@api.route(
    "POST",
    ONE + "/close",
    summary="验证通过并关闭 Close a replied rectification",
    body=CloseIn,
    response=RectificationDetailOut,
    problems=_STATE_CONFLICT,
)
async def close_rectification(
    ctx: Ctx, *, rectification_id: int, body: CloseIn
) -> RectificationDetailOut:
    """已反馈 → 已关闭, with an optional comment (验证意见)."""
    await service.close(
        ctx.session,
        ctx.user,
        rectification_id,
        comment=body.comment,
        now=utcnow(),
        origin=origin_of(ctx),
    )
    return await _detail(ctx, rectification_id)


@api.route(
    "POST",
    ONE + "/reopen",
    summary="重新整改 Reopen a replied rectification",
    body=ReopenIn,
    response=RectificationDetailOut,
    problems=_STATE_CONFLICT,
)
async def reopen_rectification(
    ctx: Ctx, *, rectification_id: int, body: ReopenIn
) -> RectificationDetailOut:
    """已反馈 → 重新整改 with what still needs fixing (required) and optionally a new due
    date; the contact replies again through the same link."""
    await service.reopen(
        ctx.session,
        ctx.user,
        rectification_id,
        comment=body.comment,
        due_date=body.due_date,
        now=utcnow(),
        origin=origin_of(ctx),
    )
    return await _detail(ctx, rectification_id)


@api.route(
    "POST",
    ONE + "/link",
    summary="重新生成反馈链接 New reply link for the contact",
    body=RenewLinkIn,
    response=LinkOut,
    problems=_STATE_CONFLICT,
)
async def renew_rectification_link(
    ctx: Ctx, *, rectification_id: int, body: RenewLinkIn
) -> LinkOut:
    """The old link stops working at once (404 `rectify_link_not_found`); not once closed."""
    token, row = await service.renew_link(
        ctx.session,
        ctx.user,
        rectification_id,
        link_days=body.link_days,
        now=utcnow(),
        origin=origin_of(ctx),
    )
    return await _link(ctx, token, row.rectification.link_expires_at)


@api.route(
    "GET",
    ONE + "/photos/{photo_id}",
    summary="整改照片 A photo of a reply",
    media_type="image/*",
)
async def get_rectification_photo(
    ctx: Ctx, *, rectification_id: int, photo_id: int
) -> web.Response:
    """The stored bytes with their sniffed type (JPEG, PNG, WebP or HEIC)."""
    row = await service.in_jurisdiction(
        ctx.session, ctx.user, rectification_id, service.Permission.RECTIFICATION_READ
    )
    photo, data = await service.photo_bytes(ctx.session, ctx.app[STORE], row, photo_id)
    return web.Response(
        body=data,
        content_type=photo.content_type,
        headers={
            # Content-addressed: the bytes behind this URL never change.
            "Cache-Control": "private, max-age=86400",
            "Content-Disposition": f'inline; filename="photo-{photo.id}"',
        },
    )


@api.route(
    "GET",
    RECTIFY,
    summary="整改反馈页信息 What a contact's link is for (public)",
    response=RectifyPublicOut,
    public=True,
    path_types={"token": str},
    problems=_LINK_PROBLEMS,
)
async def get_rectify_link(ctx: Ctx, *, token: str) -> RectifyPublicOut:
    """For the phone page `/rectify/{token}`: the opinion, due date and history."""
    now = utcnow()
    row, history = await service.public_view(ctx.session, token, now=now)
    rectification = row.rectification
    assert rectification.link_expires_at is not None  # a valid link has one
    return RectifyPublicOut(
        checkpoint_name=row.checkpoint.name,
        customer_name=row.checkpoint.customer_name,
        org_name=row.org.name,
        contact_name=rectification.contact_name,
        text=rectification.text,
        due_date=rectification.due_date,
        state=rectification.state,
        overdue=is_overdue(rectification.state, rectification.due_date, now),
        link_expires_at=rectification.link_expires_at,
        can_reply=rectification.state in REPLYABLE,
        max_photos=MAX_PHOTOS,
        max_photo_mb=ctx.app[SETTINGS].rectification_photo_max_mb,
        history=[
            PublicEventOut(
                at=event.at,
                kind=event.kind,
                actor_name=event.actor_name,
                comment=event.comment,
                due_date=event.due_date,
                photos=count,
            )
            for event, count in history
            if event.kind.value != "link_renewed"
        ],
    )


@api.route(
    "POST",
    RECTIFY + "/reply",
    summary="企业提交整改反馈 The contact replies (public, multipart/form-data)",
    response=ReplyOut,
    status=201,
    public=True,
    path_types={"token": str},
    problems={
        **_LINK_PROBLEMS,
        409: "Closed: no more replies (rectification_state_conflict)",
        413: "A photo is over the size limit (photo_too_large)",
        415: "A photo is not JPEG, PNG, WebP or HEIC (photo_type_refused)",
    },
)
async def reply_rectification(ctx: Ctx, *, token: str) -> ReplyOut:
    """multipart/form-data with `text` (整改情况说明, required) and up to nine `photos`.
    Nothing is kept unless all of it is accepted; errors name the field
    (`body.photos.2`)."""
    now = utcnow()
    await service.resolve_token(ctx.session, token, now=now)  # a dead link reads no upload
    limit = ctx.app[SETTINGS].rectification_photo_max_mb * 1024 * 1024
    text, photos = await read_reply(ctx.request, limit)
    row, count = await service.reply(
        ctx.session,
        ctx.app[STORE],
        token,
        text=text,
        photos=photos,
        now=now,
        max_photo_bytes=limit,
        origin=origin_of(ctx),
    )
    replied_at = row.rectification.replied_at
    assert replied_at is not None
    return ReplyOut(state=row.rectification.state, replied_at=replied_at, photos=count)
