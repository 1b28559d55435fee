"""Remote inspections (远程巡检): the REST API over real HTTP and the join/leave service that
signaling calls, on SQLite and on PostgreSQL.

Demo bank: 长安支行 (HB-SJZ-CA, `inspector`) and 莲池支行 (HB-BD-LC, `inspector_bd`) are in
different branches; `reviewer` and `handler` sit in 石家庄分行 above 长安支行.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inspection_api.audit.service import Origin
from inspection_api.auth.principal import Principal
from inspection_api.db import create_engine, create_sessionmaker, utcnow
from inspection_api.errors import (
    Forbidden,
    InviteExpired,
    InviteInUse,
    InviteNotFound,
    OutsideJurisdiction,
    SessionClosed,
    SessionStateConflict,
)
from inspection_api.orgs.models import Org
from inspection_api.remote import service
from inspection_api.remote.models import (
    ParticipantEventKind,
    RemoteInvite,
    RemoteParticipant,
    RemoteParticipantEvent,
    RemoteSession,
    SessionState,
)
from inspection_api.users.models import User
from tests.plugins.api import json_of

Db = async_sessionmaker[AsyncSession]
ORIGIN = Origin(ip="10.0.0.9", user_agent="pytest")


@pytest.fixture
async def db(settings, demo_passwords) -> AsyncIterator[Db]:
    """The demo bank's database, for service calls and for reaching past the API."""
    engine = create_engine(settings.database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def run(db: Db, fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
    """One service call in its own committed transaction, as signaling makes them."""
    async with db() as session:
        result = await fn(session, *args, **kwargs)
        await session.commit()
        return result


async def principal(db: Db, username: str) -> Principal:
    async with db() as session:
        user, org = (
            await session.execute(
                select(User, Org).join(Org, User.org_id == Org.id).where(User.username == username)
            )
        ).one()
        return Principal(
            user_id=user.id, username=username, org_id=org.id, org_path=org.path, roles=user.roles
        )


async def open_with_invite(db: Db, username: str = "inspector") -> tuple[int, str, int]:
    """A pending session of ``username``'s org and one invite: (session id, token, invite id)."""
    staff = await principal(db, username)
    remote = await run(
        db,
        service.create_session,
        staff,
        title="远程巡检",
        enterprise_name="华北机械",
        origin=ORIGIN,
    )
    token, invite = await run(
        db, service.create_invite, staff, remote.id, contact_name="刘联系", origin=ORIGIN
    )
    return remote.id, token, invite.id


async def org_id(db: Db, code: str) -> int:
    async with db() as session:
        found = await session.scalar(select(Org.id).where(Org.code == code))
        assert found is not None
        return found


# ---- REST ----


async def _create(user: TestClient, **body: Any) -> dict[str, Any]:
    response = await user.post(
        "/api/v1/remote-sessions",
        json={"title": "华北机械远程巡检", "enterprise_name": "华北机械", **body},
    )
    return await json_of(response, 201)


async def test_create_invite_and_resolve_the_link(client, login_as, settings, db):
    inspector = await login_as("inspector")
    created = await _create(inspector)
    assert created["state"] == "pending"
    assert created["org_id"] == await org_id(db, "HB-SJZ-CA")
    assert created["started_at"] is None
    sid = created["id"]

    response = await inspector.post(
        f"/api/v1/remote-sessions/{sid}/invites", json={"contact_name": "刘联系"}
    )
    invite = await json_of(response, 201)
    token = invite["token"]
    assert invite["url"] == f"{settings.public_url}/join/{token}"
    assert invite["qr_svg"].startswith("<svg") and "<path" in invite["qr_svg"]
    assert len(token) == 43
    lifetime = (datetime.fromisoformat(invite["expires_at"])) - utcnow()
    assert timedelta(minutes=59) < lifetime <= timedelta(minutes=60)

    public = await json_of(await client.get(f"/api/v1/invites/{token}"), 200)  # anonymous
    assert public == {
        "title": "华北机械远程巡检",
        "enterprise_name": "华北机械",
        "contact_name": "刘联系",
        "state": "pending",
        "expires_at": invite["expires_at"],
        "recorded": True,
    }

    detail = await json_of(await inspector.get(f"/api/v1/remote-sessions/{sid}"), 200)
    assert [(i["id"], i["status"], i["device_bound"]) for i in detail["invites"]] == [
        (invite["id"], "valid", False)
    ]
    assert detail["participants"] == []
    assert token not in str(detail)
    listed = await json_of(await inspector.get("/api/v1/remote-sessions?state=pending"), 200)
    assert [s["id"] for s in listed] == [sid]
    assert await json_of(await inspector.get("/api/v1/remote-sessions?state=ended"), 200) == []

    async with db() as session:  # only the digest is kept
        row = await session.get(RemoteInvite, invite["id"])
        assert row is not None
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()

    reviewer = await login_as("reviewer")  # 石家庄分行 reads the audit log of 长安支行
    events = await json_of(await reviewer.get("/api/v1/audit-events"), 200)
    actions = [e["action"] for e in events if e["action"].startswith("remote_")]
    assert actions == ["remote_invite_created", "remote_session_created"]


async def test_invite_lifetime_and_fields_are_validated(login_as):
    inspector = await login_as("inspector")
    sid = (await _create(inspector))["id"]
    url = f"/api/v1/remote-sessions/{sid}/invites"
    too_long = await inspector.post(url, json={"contact_name": "刘", "expires_in_minutes": 1441})
    body = await json_of(too_long, 422)
    assert body["errors"] == [
        {"field": "body.expires_in_minutes", "message": "链接有效期：应不大于 1440"}
    ]
    short = await json_of(
        await inspector.post(url, json={"contact_name": "刘", "expires_in_minutes": 5}), 201
    )
    lifetime = (datetime.fromisoformat(short["expires_at"])) - utcnow()
    assert timedelta(minutes=4) < lifetime <= timedelta(minutes=5)
    no_title = await inspector.post("/api/v1/remote-sessions", json={"enterprise_name": "x"})
    assert (await json_of(no_title, 422))["errors"][0]["field"] == "body.title"


async def test_an_expired_invite_is_gone_with_a_clear_message(client, db):
    _sid, token, invite_id = await open_with_invite(db)
    async with db() as session:
        await session.execute(
            update(RemoteInvite)
            .where(RemoteInvite.id == invite_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    body = await json_of(await client.get(f"/api/v1/invites/{token}"), 410)
    assert (body["code"], body["detail"]) == ("invite_expired", "链接已过期")
    english = await json_of(await client.get(f"/api/v1/invites/{token}?lang=en"), 410)
    assert english["detail"] == "This invite link has expired"


async def test_a_revoked_invite_is_gone_and_revoking_twice_is_harmless(client, login_as, db):
    sid, token, invite_id = await open_with_invite(db)
    inspector = await login_as("inspector")
    url = f"/api/v1/remote-sessions/{sid}/invites/{invite_id}"
    assert (await inspector.delete(url)).status == 204
    body = await json_of(await client.get(f"/api/v1/invites/{token}"), 410)
    assert (body["code"], body["detail"]) == ("invite_revoked", "链接已被撤销")
    assert (await inspector.delete(url)).status == 204
    detail = await json_of(await inspector.get(f"/api/v1/remote-sessions/{sid}"), 200)
    assert detail["invites"][0]["status"] == "revoked"
    missing = await inspector.delete(f"/api/v1/remote-sessions/{sid}/invites/999999")
    assert (await json_of(missing, 404))["detail"] == "邀请不存在：999999"


async def test_an_unknown_invite_is_not_found_and_not_echoed(client):
    token = "A" * 43
    body = await json_of(await client.get(f"/api/v1/invites/{token}"), 404)
    assert body["code"] == "invite_not_found"
    assert body["detail"] == "邀请链接无效"
    assert token not in body["detail"]


async def test_cancelling_closes_the_session_and_its_invites(client, login_as, db):
    sid, token, _ = await open_with_invite(db)
    inspector = await login_as("inspector")
    cancelled = await json_of(await inspector.post(f"/api/v1/remote-sessions/{sid}/cancel"), 200)
    assert cancelled["state"] == "cancelled" and cancelled["ended_at"] is not None
    body = await json_of(await client.get(f"/api/v1/invites/{token}"), 410)
    assert (body["code"], body["detail"]) == ("session_closed", "本次远程巡检已取消")
    again = await json_of(await inspector.post(f"/api/v1/remote-sessions/{sid}/cancel"), 409)
    assert again["code"] == "session_state_conflict"
    assert again["detail"].startswith("远程巡检当前为「已取消」，不能取消")
    invite = await inspector.post(
        f"/api/v1/remote-sessions/{sid}/invites", json={"contact_name": "刘联系"}
    )
    assert (await json_of(invite, 409))["detail"] == "远程巡检当前为「已取消」，不能邀请企业联系人"


async def test_an_active_session_is_ended_not_cancelled(client, login_as, db):
    sid, token, _ = await open_with_invite(db)
    await run(db, service.join_as_contact, token, "phone-1", "10.1.1.1", "Mobile")
    inspector = await login_as("inspector")
    refused = await json_of(await inspector.post(f"/api/v1/remote-sessions/{sid}/cancel"), 409)
    assert refused["detail"] == (
        "远程巡检当前为「进行中」，不能取消（只有待开始的远程巡检可以取消，进行中的请结束通话）"
    )
    ended = await json_of(await inspector.post(f"/api/v1/remote-sessions/{sid}/end"), 200)
    assert ended["state"] == "ended"
    assert (await json_of(await client.get(f"/api/v1/invites/{token}"), 410))["detail"] == (
        "本次远程巡检已结束"
    )
    detail = await json_of(await inspector.get(f"/api/v1/remote-sessions/{sid}"), 200)
    (contact,) = detail["participants"]
    assert contact["kind"] == "contact" and contact["display_name"] == "刘联系"
    assert not contact["connected"] and contact["left_at"] is not None
    assert [(e["event"], e["ip"]) for e in contact["events"]] == [
        ("joined", "10.1.1.1"),
        ("left", ""),
    ]
    assert (await inspector.post(f"/api/v1/remote-sessions/{sid}/end")).status == 409


async def test_jurisdiction_other_branch_sees_nothing_reviewers_only_read(login_as, db):
    sid, _, invite_id = await open_with_invite(db)  # 长安支行
    base = f"/api/v1/remote-sessions/{sid}"
    outsider = await login_as("inspector_bd")  # 莲池支行, another branch
    for method, url in [
        ("GET", base),
        ("POST", f"{base}/invites"),
        ("DELETE", f"{base}/invites/{invite_id}"),
        ("POST", f"{base}/cancel"),
        ("POST", f"{base}/end"),
    ]:
        response = await outsider.request(method, url, json={"contact_name": "x"})
        assert (await json_of(response, 404))["detail"] == f"远程巡检不存在：{sid}", url
    assert await json_of(await outsider.get("/api/v1/remote-sessions"), 200) == []

    reviewer = await login_as("reviewer")  # 石家庄分行: reads, never runs
    assert (await json_of(await reviewer.get(base), 200))["id"] == sid
    assert [s["id"] for s in await json_of(await reviewer.get("/api/v1/remote-sessions"), 200)] == [
        sid
    ]
    create = await reviewer.post(
        "/api/v1/remote-sessions", json={"title": "t", "enterprise_name": "e"}
    )
    assert (await json_of(create, 403))["detail"] == "无权执行此操作：创建和主持远程巡检"
    for url in (f"{base}/invites", f"{base}/cancel", f"{base}/end"):
        assert (await reviewer.post(url, json={"contact_name": "x"})).status == 403, url
    assert (await reviewer.delete(f"{base}/invites/{invite_id}")).status == 403


# Expected status per user: create in own org, create in 莲池支行, read the 长安支行
# session, invite to it, list (how many of the two sessions are visible).
REMOTE_MATRIX: dict[str, tuple[int, int, int, int, int]] = {
    "admin": (201, 201, 200, 201, 2),
    "hb_admin": (201, 201, 200, 201, 2),
    "sjz_admin": (201, 422, 200, 201, 1),
    "reviewer": (403, 403, 200, 403, 1),
    "handler": (403, 403, 200, 403, 1),
    "inspector": (201, 422, 200, 201, 1),
    "inspector_bd": (201, 201, 404, 404, 1),
}


@pytest.mark.parametrize("username", list(REMOTE_MATRIX))
async def test_remote_permission_matrix(username, login_as, db):
    sid_ca, _, _ = await open_with_invite(db, "inspector")
    await open_with_invite(db, "inspector_bd")
    lc = await org_id(db, "HB-BD-LC")
    user = await login_as(username)
    body = {"title": "t", "enterprise_name": "e"}
    got = (
        (await user.post("/api/v1/remote-sessions", json=body)).status,
        (await user.post("/api/v1/remote-sessions", json={**body, "org_id": lc})).status,
        (await user.get(f"/api/v1/remote-sessions/{sid_ca}")).status,
        (
            await user.post(
                f"/api/v1/remote-sessions/{sid_ca}/invites", json={"contact_name": "刘联系"}
            )
        ).status,
        len(
            [
                s
                for s in await (await user.get("/api/v1/remote-sessions?state=pending")).json()
                if s["title"] == "远程巡检"
            ]
        ),
    )
    assert got == REMOTE_MATRIX[username]


# ---- the service signaling calls ----


async def test_an_invite_binds_the_first_device_which_may_resume(db):
    sid, token, invite_id = await open_with_invite(db)
    first = await run(db, service.join_as_contact, token, "phone-A", "10.0.0.1", "iPhone")
    assert (first.kind.value, first.generation, first.connected) == ("contact", 1, True)
    async with db() as session:
        remote = await session.get(RemoteSession, sid)
        invite = await session.get(RemoteInvite, invite_id)
        assert remote is not None and invite is not None
        assert remote.state == SessionState.ACTIVE and remote.started_at is not None
        assert invite.device_id == "phone-A"

    with pytest.raises(InviteInUse) as caught:
        await run(db, service.join_as_contact, token, "phone-B", "10.0.0.2", "Android")
    assert caught.value.status == 409
    assert caught.value.message("zh") == "此邀请链接已在另一台设备上使用"

    again = await run(db, service.join_as_contact, token, "phone-A", "10.0.0.3", "iPhone")
    assert (again.id, again.generation) == (first.id, 2)
    assert await _events(db, first.id) == ["joined", "reconnected"]


async def test_the_hold_expires_only_the_generation_it_saw(db):
    _sid, token, _ = await open_with_invite(db)
    p = await run(db, service.join_as_contact, token, "phone-A", "", "")
    assert await run(db, service.expire_slot, p.id, 1) is False  # still connected
    assert await run(db, service.mark_disconnected, p.id, 1) is True
    assert await run(db, service.mark_disconnected, p.id, 1) is False  # already held
    # Back within the hold (maybe through another node): generation 2.
    back = await run(db, service.join_as_contact, token, "phone-A", "", "")
    assert back.generation == 2
    assert await run(db, service.expire_slot, p.id, 1) is False  # the old timer is void
    assert await run(db, service.mark_disconnected, p.id, 1) is False  # a stale socket closing
    assert await _slot(db, p.id) == (2, True, False)
    # Dropped again and gone for good.
    assert await run(db, service.mark_disconnected, p.id, 2) is True
    assert await run(db, service.expire_slot, p.id, 2) is True
    assert await run(db, service.expire_slot, p.id, 2) is False  # once, on one node
    assert await _slot(db, p.id) == (2, False, True)
    assert await _events(db, p.id) == [
        "joined",
        "disconnected",
        "reconnected",
        "disconnected",
        "timed_out",
    ]
    async with db() as session:  # the inspector ends the call, not the timer
        remote = await session.get(RemoteSession, p.session_id)
        assert remote is not None and remote.state == SessionState.ACTIVE
    rejoined = await run(db, service.join_as_contact, token, "phone-A", "", "")
    assert rejoined.generation == 3 and (await _events(db, p.id))[-1] == "joined"


async def test_staff_join_resume_and_leave(db):
    sid, _, _ = await open_with_invite(db)
    inspector = await principal(db, "inspector")
    me = await run(db, service.join_as_staff, inspector, sid, "pc-1", "10.0.0.5", "Chrome")
    assert (me.kind.value, me.display_name, me.generation) == ("inspector", "张检查", 1)
    async with db() as session:
        remote = await session.get(RemoteSession, sid)
        assert remote is not None and remote.state == SessionState.ACTIVE  # first join
    again = await run(db, service.join_as_staff, inspector, sid, "pc-2", "10.0.0.5", "Chrome")
    assert (again.id, again.generation, again.device_id) == (me.id, 2, "pc-2")
    assert await run(db, service.leave, me.id, 1) is False  # a stale connection cannot
    assert await run(db, service.leave, me.id, 2) is True
    assert await run(db, service.leave, me.id) is False
    assert await _events(db, me.id) == ["joined", "reconnected", "left"]

    with pytest.raises(Forbidden):
        await run(db, service.join_as_staff, await principal(db, "reviewer"), sid, "pc", "", "")
    with pytest.raises(OutsideJurisdiction):
        await run(db, service.join_as_staff, await principal(db, "inspector_bd"), sid, "pc", "", "")


async def test_closed_sessions_admit_nobody(db):
    sid, token, _ = await open_with_invite(db)
    inspector = await principal(db, "inspector")
    with pytest.raises(SessionStateConflict):  # nobody joined yet: cancel, don't end
        await run(db, service.end_session, inspector, sid, origin=ORIGIN)
    me = await run(db, service.join_as_staff, inspector, sid, "pc-1", "", "")
    contact = await run(db, service.join_as_contact, token, "phone-A", "", "")
    assert [p.id for p in await run(db, service.call_participants, sid)] == [me.id, contact.id]
    ended = await run(db, service.end_session, inspector, sid, origin=ORIGIN)
    assert ended.state == SessionState.ENDED and ended.ended_at is not None
    assert await _slot(db, me.id) == (1, False, True)
    assert await _slot(db, contact.id) == (1, False, True)
    with pytest.raises(SessionClosed):
        await run(db, service.join_as_staff, inspector, sid, "pc-1", "", "")
    with pytest.raises(SessionClosed):
        await run(db, service.join_as_contact, token, "phone-A", "", "")
    assert await run(db, service.mark_disconnected, contact.id, 1) is False  # already left


async def test_resolve_refuses_unknown_and_later_than_expiry(db):
    _sid, token, _ = await open_with_invite(db)
    remote, invite = await run(db, service.resolve_invite, token)
    assert invite.contact_name == "刘联系" and remote.state == SessionState.PENDING
    with pytest.raises(InviteNotFound):
        await run(db, service.resolve_invite, token[:-1])
    for later in (timedelta(minutes=60), timedelta(days=400)):
        with pytest.raises(InviteExpired):
            await run(db, service.resolve_invite, token, now=invite.expires_at + later)


async def _events(db: Db, participant_id: int) -> list[str]:
    async with db() as session:
        rows = await session.scalars(
            select(RemoteParticipantEvent.event)
            .where(RemoteParticipantEvent.participant_id == participant_id)
            .order_by(RemoteParticipantEvent.id)
        )
        return [ParticipantEventKind(e).value for e in rows]


async def _slot(db: Db, participant_id: int) -> tuple[int, bool, bool]:
    """(generation, connected, has left)"""
    async with db() as session:
        p = await session.get(RemoteParticipant, participant_id)
        assert p is not None
        return p.generation, p.connected, p.left_at is not None
