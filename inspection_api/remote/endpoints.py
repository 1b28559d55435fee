"""Remote inspections (远程巡检) over REST: staff open, invite, cancel and end; the public
invite lookup serves the enterprise contact's join page."""

from __future__ import annotations

import asyncio

from inspection_api.auth.endpoints import origin_of
from inspection_api.db import utcnow
from inspection_api.remote import service
from inspection_api.remote.models import RemoteInvite, RemoteSession
from inspection_api.remote.rules import invite_status, invite_url, qr_svg
from inspection_api.remote.schemas import (
    InviteCreate,
    InviteCreatedOut,
    InviteOut,
    InvitePublicOut,
    ParticipantOut,
    RemoteSessionCreate,
    RemoteSessionDetailOut,
    RemoteSessionOut,
    RemoteSessionQuery,
)
from inspection_api.web.keys import NOTIFIER, SETTINGS
from inspection_api.web.routing import ApiRoutes, Ctx

api = ApiRoutes(tag="remote")

SESSIONS = "/api/v1/remote-sessions"
ONE_SESSION = SESSIONS + "/{session_id}"


def _invite_out(invite: RemoteInvite) -> InviteOut:
    return InviteOut(
        id=invite.id,
        contact_name=invite.contact_name,
        created_by_user_id=invite.created_by_user_id,
        created_at=invite.created_at,
        expires_at=invite.expires_at,
        revoked_at=invite.revoked_at,
        status=invite_status(invite, utcnow()),
        device_bound=invite.device_id is not None,
    )


def _detail(remote: RemoteSession) -> RemoteSessionDetailOut:
    return RemoteSessionDetailOut(
        **RemoteSessionOut.model_validate(remote).model_dump(),
        invites=[_invite_out(i) for i in remote.invites],
        participants=[ParticipantOut.model_validate(p) for p in remote.participants],
    )


@api.route(
    "POST",
    SESSIONS,
    summary="新建远程巡检 Open a remote inspection",
    body=RemoteSessionCreate,
    response=RemoteSessionOut,
    status=201,
)
async def create_remote_session(ctx: Ctx, *, body: RemoteSessionCreate) -> RemoteSessionOut:
    """Pending until the first participant joins. With `checkpoint_id` the session belongs to
    the checkpoint's 支行 and names its borrower; otherwise `enterprise_name` is required and
    `org_id` defaults to the caller's org."""
    remote = await service.create_session(
        ctx.session,
        ctx.user,
        title=body.title,
        enterprise_name=body.enterprise_name,
        checkpoint_id=body.checkpoint_id,
        org_id=body.org_id,
        origin=origin_of(ctx),
    )
    return RemoteSessionOut.model_validate(remote)


@api.route(
    "GET",
    SESSIONS,
    summary="辖区内远程巡检 Remote inspections in my jurisdiction",
    query=RemoteSessionQuery,
    response=list[RemoteSessionOut],
)
async def list_remote_sessions(ctx: Ctx, *, query: RemoteSessionQuery) -> list[RemoteSessionOut]:
    """Newest first; page with `before_id`."""
    rows = await service.list_sessions(
        ctx.session, ctx.user, state=query.state, before_id=query.before_id, limit=query.limit
    )
    return [RemoteSessionOut.model_validate(r) for r in rows]


@api.route(
    "GET",
    ONE_SESSION,
    summary="远程巡检详情 One remote inspection",
    response=RemoteSessionDetailOut,
)
async def get_remote_session(ctx: Ctx, *, session_id: int) -> RemoteSessionDetailOut:
    """With its invites (never their tokens), participants and their connection events."""
    return _detail(await service.get_session(ctx.session, ctx.user, session_id))


@api.route(
    "POST",
    ONE_SESSION + "/invites",
    summary="邀请企业联系人 Invite an enterprise contact",
    body=InviteCreate,
    response=InviteCreatedOut,
    status=201,
)
async def create_remote_invite(
    ctx: Ctx, *, session_id: int, body: InviteCreate
) -> InviteCreatedOut:
    """The link (and its QR code) is in this response only: the server keeps its digest."""
    token, invite = await service.create_invite(
        ctx.session,
        ctx.user,
        session_id,
        contact_name=body.contact_name,
        expires_in_minutes=body.expires_in_minutes,
        origin=origin_of(ctx),
    )
    url = invite_url(ctx.app[SETTINGS], token)
    return InviteCreatedOut(
        id=invite.id,
        contact_name=invite.contact_name,
        expires_at=invite.expires_at,
        url=url,
        token=token,
        qr_svg=await asyncio.to_thread(qr_svg, url),
    )


@api.route(
    "DELETE",
    ONE_SESSION + "/invites/{invite_id}",
    summary="撤销邀请 Revoke an invite",
)
async def revoke_remote_invite(ctx: Ctx, *, session_id: int, invite_id: int) -> None:
    """The link stops working at once, and a contact in the call by it is dropped from the
    call; revoking twice is harmless."""
    removed = await service.revoke_invite(
        ctx.session, ctx.user, session_id, invite_id, origin=origin_of(ctx)
    )
    if removed is not None:
        await ctx.session.commit()
        await ctx.app[NOTIFIER].participant_removed(session_id, removed, "invite_revoked")


@api.route(
    "POST",
    ONE_SESSION + "/cancel",
    summary="取消远程巡检 Cancel a pending remote inspection",
    response=RemoteSessionOut,
    problems={409: "The session is no longer pending"},
)
async def cancel_remote_session(ctx: Ctx, *, session_id: int) -> RemoteSessionOut:
    """Only before anyone joined (待开始); its invites stop working."""
    remote = await service.cancel_session(ctx.session, ctx.user, session_id, origin=origin_of(ctx))
    return RemoteSessionOut.model_validate(remote)


@api.route(
    "POST",
    ONE_SESSION + "/end",
    summary="结束远程巡检 End an active remote inspection",
    response=RemoteSessionOut,
    problems={409: "The session is not active"},
)
async def end_remote_session(ctx: Ctx, *, session_id: int) -> RemoteSessionOut:
    """结束通话: everyone still in the call leaves; the session admits nobody again."""
    remote = await service.end_session(ctx.session, ctx.user, session_id, origin=origin_of(ctx))
    await ctx.session.commit()
    await ctx.app[NOTIFIER].call_ended(session_id)  # open call pages hang up at once
    return RemoteSessionOut.model_validate(remote)


@api.route(
    "GET",
    "/api/v1/invites/{token}",
    summary="邀请链接信息 What an invite link is for (public)",
    response=InvitePublicOut,
    public=True,
    path_types={"token": str},
    problems={410: "The link expired or was revoked, or the session is over"},
)
async def get_invite(ctx: Ctx, *, token: str) -> InvitePublicOut:
    """For the join page: 404 `invite_not_found`, or 410 `invite_expired` / `invite_revoked`
    / `session_closed`."""
    remote, invite = await service.resolve_invite(ctx.session, token)
    return InvitePublicOut(
        title=remote.title,
        enterprise_name=remote.enterprise_name,
        contact_name=invite.contact_name,
        state=remote.state,
        expires_at=invite.expires_at,
    )
