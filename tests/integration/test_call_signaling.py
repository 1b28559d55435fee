"""The /call Socket.IO namespace on a real port, on both backends (SQLite + in-memory,
PostgreSQL + Redis): joining, relaying, ending, refusals, limits and the slot hold.

Demo bank: ``inspector`` works in 长安支行, ``inspector_bd`` in 莲池支行 (another branch).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from socketio.exceptions import ConnectionError
from sqlalchemy import select, update

from inspection_api.db import create_engine, utcnow
from inspection_api.remote.models import RemoteInvite, RemoteParticipant
from signaling.server import CALL
from tests.integration.problem_text import text_problems
from tests.plugins.browser import LiveServer, start_live_server
from tests.plugins.calls import HOLD_SECONDS, WAIT, CallKit

OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
ANSWER = "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
CANDIDATE = {
    "candidate": "candidate:1 1 udp 2122260223 192.0.2.7 50000 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
    "usernameFragment": "abcd",
}


REJOIN_HOLD = 4.0


def refused(ack: dict[str, Any], code: str, message: str | None = None) -> None:
    assert ack["ok"] is False, ack
    assert ack["error"]["code"] == code, ack
    if message is not None:
        assert ack["error"]["message"] == message, ack


async def details(call: Any) -> dict[str, Any]:
    async with call.staff.get(f"/api/v1/remote-sessions/{call.session_id}") as response:
        assert response.status == 200, await response.text()
        return dict(await response.json())


async def test_inspector_and_contact_join_and_exchange_signals(call_server, calls: CallKit):
    call = await calls.open_call(call_server.url)
    inspector, inspector_ack, contact, contact_ack = await calls.joined_pair(call)
    me, them = inspector_ack["participant_id"], contact_ack["participant_id"]

    assert inspector_ack == {
        "ok": True,
        "participant_id": me,
        "session_id": call.session_id,
        "kind": "inspector",
        "polite": False,
        "resumed": False,
        "peers": [],
        "ice_servers": [],
        "recorded": True,
    }
    assert contact_ack["polite"] is True and contact_ack["kind"] == "contact"
    assert contact_ack["session_id"] == call.session_id
    assert contact_ack["peers"] == [
        {"participant_id": me, "kind": "inspector", "display_name": "张检查", "media": None}
    ]
    joined = await inspector.next("peer_joined")
    assert joined == {
        "participant_id": them,
        "kind": "contact",
        "display_name": "刘联系",
        "media": None,
        "resumed": False,
    }

    offer = {"type": "offer", "sdp": OFFER}
    assert await inspector.call("send_signal", {"to": them, "description": offer}) == {"ok": True}
    assert await contact.next("signal") == {"from": me, "description": offer}
    answer = {"type": "answer", "sdp": ANSWER}
    assert await contact.call("send_signal", {"to": me, "description": answer}) == {"ok": True}
    assert await inspector.next("signal") == {"from": them, "description": answer}
    assert (await inspector.call("send_signal", {"to": them, "candidate": CANDIDATE}))["ok"]
    assert await contact.next("signal") == {"from": me, "candidate": CANDIDATE}
    assert (await contact.call("send_signal", {"to": me, "candidate": None}))["ok"]
    assert await inspector.next("signal") == {"from": them, "candidate": None}  # end of candidates

    media = {"audio": True, "video": True, "facing": "environment"}
    assert await contact.call("set_media", media) == {"ok": True}
    assert await inspector.next("media") == {"participant_id": them, **media}
    assert contact.pending("media") == []  # not echoed to the sender
    assert contact.pending("signal") == [] and inspector.pending("signal") == []

    detail = await details(call)
    assert detail["state"] == "active"
    assert {p["id"]: p["connected"] for p in detail["participants"]} == {me: True, them: True}


async def test_only_the_inspector_ends_the_call_and_it_ends_for_everyone(
    call_server, calls: CallKit
):
    call = await calls.open_call(call_server.url)
    inspector, inspector_ack, contact, _ = await calls.joined_pair(call)
    me = inspector_ack["participant_id"]

    refused(
        await contact.call("end_call"),
        "forbidden",
        "无权执行此操作：结束通话（仅客户经理可以结束）",
    )
    assert await inspector.call("end_call") == {"ok": True}
    for client in (inspector, contact):
        ended = await client.next("call_ended")
        assert ended == {"session_id": call.session_id, "by": me, "reason": "ended"}
    detail = await details(call)
    assert detail["state"] == "ended"
    assert all(p["left_at"] is not None for p in detail["participants"])
    # Nobody can signal in it any more, and its link admits nobody.
    refused(await contact.call("send_signal", {"to": 1, "candidate": None}), "not_joined")
    latecomer = calls.client()
    with pytest.raises(ConnectionError):
        await latecomer.connect(call.url, auth={"invite": call.token, "device_id": "phone-1"})
    assert latecomer.refusal["message"] == "session_closed"
    assert latecomer.refusal["data"]["message"] == "本次远程巡检已结束"


async def test_ending_over_rest_hangs_up_the_open_call(call_server, calls: CallKit):
    """结束通话 from the console's REST API reaches the call's sockets like end_call does."""
    call = await calls.open_call(call_server.url)
    inspector, _, contact, _ = await calls.joined_pair(call)
    async with call.staff.post(f"/api/v1/remote-sessions/{call.session_id}/end") as response:
        assert response.status == 200, await response.text()
    for client in (inspector, contact):
        ended = await client.next("call_ended")
        assert ended == {"session_id": call.session_id, "by": None, "reason": "ended"}
    refused(await contact.call("send_signal", {"to": 1, "candidate": None}), "not_joined")


async def test_revoking_the_invite_drops_the_contact_from_the_call(call_server, calls: CallKit):
    """撤销 during the call: the contact is removed at once (its slot closed, its socket cut),
    the inspector hears it left, and the link admits nobody again."""
    call = await calls.open_call(call_server.url)
    inspector, _, contact, contact_ack = await calls.joined_pair(call)
    them = contact_ack["participant_id"]
    url = f"/api/v1/remote-sessions/{call.session_id}/invites/{call.invite_id}"
    async with call.staff.delete(url) as response:
        assert response.status == 204, await response.text()
    assert await contact.next("removed") == {
        "session_id": call.session_id,
        "reason": "invite_revoked",
    }
    await asyncio.wait_for(contact.disconnected.wait(), WAIT)
    assert await inspector.next("peer_left") == {"participant_id": them, "reason": "removed"}
    async with call.staff.delete(url) as response:  # again: nothing more happens
        assert response.status == 204
    assert inspector.pending("peer_left") == []

    again = calls.client()
    with pytest.raises(ConnectionError):
        await again.connect(call.url, auth={"invite": call.token, "device_id": "phone-1"})
    assert again.refusal["message"] == "invite_revoked"
    contact_row = next(p for p in (await details(call))["participants"] if p["id"] == them)
    assert contact_row["left_at"] is not None and contact_row["connected"] is False
    assert contact_row["events"][-1]["event"] == "removed"


@pytest.mark.parametrize("how", ["expired", "revoked", "unknown"])
async def test_a_dead_invite_is_refused_at_connect_with_the_reason(
    call_server: LiveServer, calls: CallKit, how: str
):
    call = await calls.open_call(call_server.url)
    token = call.token
    if how == "expired":
        engine = create_engine(call_server.settings.database_url)
        async with engine.begin() as conn:
            await conn.execute(
                update(RemoteInvite)
                .where(RemoteInvite.id == call.invite_id)
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
        await engine.dispose()
    elif how == "revoked":
        url = f"/api/v1/remote-sessions/{call.session_id}/invites/{call.invite_id}"
        async with call.staff.delete(url) as response:
            assert response.status == 204
    else:
        token = "x" * 43
    expected = {
        "expired": ("invite_expired", "链接已过期"),
        "revoked": ("invite_revoked", "链接已被撤销"),
        "unknown": ("invite_not_found", "邀请链接无效"),
    }[how]
    client = calls.client()
    with pytest.raises(ConnectionError):
        await client.connect(call.url, auth={"invite": token, "device_id": "phone-1"})
    assert client.refusal == {
        "message": expected[0],
        "data": {"code": expected[0], "message": expected[1], "detail": expected[1]},
    }


async def test_staff_without_a_session_and_malformed_invites_are_refused(
    call_server, calls: CallKit
):
    call = await calls.open_call(call_server.url)
    anonymous = calls.client()
    with pytest.raises(ConnectionError):
        await anonymous.connect(call.url)
    assert anonymous.refusal["message"] == "unauthenticated"
    assert anonymous.refusal["data"]["message"] == "请先登录"
    for auth in ({"invite": call.token}, {"invite": call.token, "device_id": ""}):
        client = calls.client()
        with pytest.raises(ConnectionError):
            await client.connect(call.url, auth=auth)
        assert client.refusal["message"] == "invalid_auth"


async def test_staff_of_another_branch_cannot_join_the_session(call_server, calls: CallKit):
    call = await calls.open_call(call_server.url)  # 长安支行
    _, cookie = await calls.login(call.url, "inspector_bd")  # 莲池支行
    outsider = await calls.staff_socket(call.url, cookie)
    ack = await outsider.call("join_call", {"session_id": call.session_id, "device_id": "pc-9"})
    refused(ack, "not_found", f"远程巡检不存在：{call.session_id}")
    refused(await outsider.call("send_signal", {"to": 1, "candidate": None}), "not_joined")
    assert (await details(call))["participants"] == []


async def test_an_invite_admits_one_device(call_server, calls: CallKit):
    call = await calls.open_call(call_server.url)
    first = await calls.contact_socket(call.url, call.token, "phone-1")
    assert (await first.call("join_call"))["ok"] is True
    second = await calls.contact_socket(call.url, call.token, "phone-2")
    refused(await second.call("join_call"), "invite_in_use", "此邀请链接已在另一台设备上使用")
    refused(await first.call("join_call"), "already_joined", "已在通话中")
    participants = (await details(call))["participants"]
    assert [(p["kind"], p["connected"]) for p in participants] == [("contact", True)]


async def test_bad_messages_get_error_acks_and_change_nothing(call_server, calls: CallKit):
    call = await calls.open_call(call_server.url)
    early = await calls.staff_socket(call.url, call.cookie)
    refused(
        await early.call("send_signal", {"to": 1, "candidate": None}), "not_joined", "尚未加入通话"
    )
    refused(await early.call("set_media", {"audio": True, "video": False}), "not_joined")
    refused(await early.call("join_call", {"device_id": "pc-1"}), "validation_failed")

    inspector, inspector_ack, contact, contact_ack = await calls.joined_pair(call)
    them = contact_ack["participant_id"]

    def fields(ack: dict[str, Any]) -> list[str]:
        refused(ack, "validation_failed")
        # What the call pages show is plain Chinese; the paths are for programs.
        shown = [ack["error"]["detail"], *(e["message"] for e in ack["error"]["errors"])]
        assert [fault for text in shown for fault in text_problems(text)] == [], ack
        assert ack["error"]["message"] == ack["error"]["detail"]
        return [e["field"] for e in ack["error"]["errors"]]

    bad_sdp = {"to": them, "description": {"type": "offer", "sdp": "o=- 1 2 IN IP4 x"}}
    assert fields(await inspector.call("send_signal", bad_sdp)) == ["data.description.sdp"]
    big_sdp = {"to": them, "description": {"type": "offer", "sdp": "v=0\r\n" + "a" * 33_000}}
    assert fields(await inspector.call("send_signal", big_sdp)) == ["data.description.sdp"]
    rollback = {"to": them, "description": {"type": "rollback", "sdp": OFFER}}
    assert fields(await inspector.call("send_signal", rollback)) == ["data.description.type"]
    big_candidate = {"to": them, "candidate": {**CANDIDATE, "candidate": "c" * 1025}}
    assert fields(await inspector.call("send_signal", big_candidate)) == [
        "data.candidate.candidate"
    ]
    both = {"to": them, "candidate": None, "description": {"type": "offer", "sdp": OFFER}}
    assert fields(await inspector.call("send_signal", both)) == ["data"]
    bad_to = await inspector.call("send_signal", {"to": "2", "candidate": None})
    assert fields(bad_to) == ["data.to"]
    assert bad_to["error"]["detail"] == "消息格式有误，对方：应为整数"
    assert fields(await inspector.call("send_signal", ["not", "an", "object"])) == ["data"]
    assert fields(await inspector.call("set_media", {"audio": "yes", "video": True})) == [
        "data.audio"
    ]
    assert fields(await inspector.call("end_call", {"now": True})) == ["data.now"]

    me = inspector_ack["participant_id"]
    for to in (me, 999_999):  # itself, and nobody of this call
        refused(
            await inspector.call("send_signal", {"to": to, "candidate": None}),
            "not_in_room",
            f"对方不在本次通话中：{to}",
        )
    other = await calls.open_call(call.url)  # a participant of another session
    _, _, _, stranger_ack = await calls.joined_pair(other)
    stranger = stranger_ack["participant_id"]
    refused(await inspector.call("send_signal", {"to": stranger, "candidate": None}), "not_in_room")

    refused(await inspector.call("open_vault", {}), "unknown_event", "不支持的事件：open_vault")
    refused(await inspector.call("connect", {}), "unknown_event")
    refused(await inspector.call("disconnect", {}), "unknown_event")
    assert contact.pending("signal") == []
    # The sockets still work.
    assert (await inspector.call("send_signal", {"to": them, "candidate": None}))["ok"]
    assert await contact.next("signal") == {"from": me, "candidate": None}


async def test_english_errors_on_request(call_server, calls: CallKit):
    call = await calls.open_call(call_server.url)
    client = calls.client()
    await client.connect(call.url + "?lang=en", cookie=call.cookie, origin=call.url)
    ack = await client.call("send_signal", {"to": 1, "candidate": None})
    assert ack["error"]["message"] == "Join the call first"
    ack = await client.call("send_signal", {"to": "2", "candidate": None})
    assert (ack["error"]["code"], ack["error"]["message"]) == (
        "validation_failed",
        "Invalid message: data.to",
    )


async def test_a_message_over_64_kib_closes_only_that_socket(call_server, calls: CallKit):
    call = await calls.open_call(call_server.url)
    inspector, inspector_ack, contact, _ = await calls.joined_pair(call)
    await contact.emit("send_signal", {"to": inspector_ack["participant_id"], "pad": "x" * 66_000})
    await asyncio.wait_for(contact.disconnected.wait(), WAIT)
    assert (await inspector.next("peer_reconnecting"))["participant_id"] > 0
    assert (await inspector.call("set_media", {"audio": True, "video": False}))["ok"]


async def test_a_flood_is_dropped_then_cut_off_and_others_are_still_served(
    call_server, calls: CallKit
):
    call = await calls.open_call(call_server.url)
    inspector, inspector_ack, contact, _ = await calls.joined_pair(call)
    bystander_call = await calls.open_call(call.url)
    bystander, _, _, bystander_peer = await calls.joined_pair(bystander_call)

    acks: list[dict[str, Any]] = []
    signal = {"to": inspector_ack["participant_id"], "candidate": None}
    loop = asyncio.get_running_loop()
    flood_started = loop.time()
    for _ in range(1000):
        await contact.emit("send_signal", signal, callback=acks.append)
    # Meanwhile another call is answered at once.
    started = loop.time()
    to = bystander_peer["participant_id"]
    assert (await bystander.call("send_signal", {"to": to, "candidate": None}))["ok"]
    assert loop.time() - started < 2.0

    await asyncio.wait_for(contact.disconnected.wait(), WAIT)  # cut off after 500 drops
    refill = 50 * (loop.time() - flood_started)
    accepted = [a for a in acks if a["ok"]]
    limited = [a for a in acks if not a["ok"]]
    assert 100 <= len(accepted) <= 100 + refill + 1, (len(accepted), refill)  # burst + 50/s
    assert len(limited) >= 400
    assert {a["error"]["code"] for a in limited} == {"rate_limited"}
    assert limited[0]["error"]["message"] == "消息过于频繁（每秒最多 50 条），已丢弃"
    assert (await contact.next("error"))["code"] == "rate_limited"  # said once, not per message
    assert contact.pending("error") == []
    await asyncio.sleep(0.2)
    assert len(inspector.pending("signal")) == len(accepted)
    assert (await inspector.call("set_media", {"audio": False, "video": True}))["ok"]


async def test_a_dropped_contact_rejoining_within_the_hold_keeps_its_place(
    settings, live_server_factory, demo_passwords, calls: CallKit
):
    # A hold long enough that a stall of a loaded machine cannot outlast it mid-rejoin.
    calls.passwords.update(demo_passwords)
    server = await live_server_factory(replace(settings, call_hold_seconds=REJOIN_HOLD))
    call = await calls.open_call(server.url)
    inspector, _, contact, contact_ack = await calls.joined_pair(call)
    them = contact_ack["participant_id"]
    await inspector.next("peer_joined")

    await contact.close()  # network switch: the socket is gone, the page will come back
    assert await inspector.next("peer_reconnecting") == {"participant_id": them}
    again = await calls.contact_socket(call.url, call.token, "phone-1")  # same device
    ack = await again.call("join_call")
    assert (ack["ok"], ack["participant_id"], ack["resumed"]) == (True, them, True)
    joined = await inspector.next("peer_joined")
    assert (joined["participant_id"], joined["resumed"]) == (them, True)

    await asyncio.sleep(REJOIN_HOLD + 1.0)  # the old hold timer ran out without effect
    assert inspector.pending("peer_left") == []
    events = [
        e["event"]
        for p in (await details(call))["participants"]
        if p["id"] == them
        for e in p["events"]
    ]
    assert events == ["joined", "disconnected", "reconnected"]


async def test_a_participant_gone_past_the_hold_leaves_the_call(call_server, calls: CallKit):
    call = await calls.open_call(call_server.url)
    inspector, inspector_ack, contact, contact_ack = await calls.joined_pair(call)
    them = contact_ack["participant_id"]

    await contact.close()
    assert await inspector.next("peer_reconnecting") == {"participant_id": them}
    assert await inspector.next("peer_left", HOLD_SECONDS + 3.0) == {
        "participant_id": them,
        "reason": "timeout",
    }
    participant = next(p for p in (await details(call))["participants"] if p["id"] == them)
    assert participant["connected"] is False and participant["left_at"] is not None
    assert [e["event"] for e in participant["events"]] == ["joined", "disconnected", "timed_out"]

    # The inspector drops too, then resumes with the same identity (staff: by user).
    await inspector.close()
    again = await calls.staff_socket(call.url, call.cookie)
    ack = await again.call("join_call", {"session_id": call.session_id, "device_id": "pc-1"})
    assert (ack["participant_id"], ack["resumed"]) == (inspector_ack["participant_id"], True)


async def test_leaving_frees_the_slot_at_once(call_server, calls: CallKit):
    call = await calls.open_call(call_server.url)
    inspector, _, contact, contact_ack = await calls.joined_pair(call)
    assert await contact.call("leave_call") == {"ok": True}
    assert await inspector.next("peer_left") == {
        "participant_id": contact_ack["participant_id"],
        "reason": "left",
    }
    refused(await contact.call("set_media", {"audio": True, "video": True}), "not_joined")
    await contact.close()
    await asyncio.sleep(HOLD_SECONDS + 0.5)
    assert inspector.pending("peer_reconnecting") == [] and inspector.pending("peer_left") == []


async def test_shutdown_cancels_hold_timers_and_leaves_the_slot_held(
    settings, demo_passwords, calls: CallKit
):
    calls.passwords.update(demo_passwords)
    server, runner = await start_live_server(replace(settings, call_hold_seconds=45.0))
    namespace = server.app[CALL]
    try:
        call = await calls.open_call(server.url)
        inspector, _, contact, contact_ack = await calls.joined_pair(call)
        await contact.close()
        assert (await inspector.next("peer_reconnecting"))["participant_id"] > 0
        await inspector.close()
        for _ in range(50):  # the server notices the inspector's disconnect too
            if len(namespace.hold_tasks) == 2:
                break
            await asyncio.sleep(0.1)
        assert len(namespace.hold_tasks) == 2
        started = asyncio.get_running_loop().time()
    finally:
        await runner.cleanup()
    assert asyncio.get_running_loop().time() - started < 3.0  # not the 45 s hold
    assert namespace.hold_tasks == set()
    # Held, not timed out: after a restart the same participant can still resume.
    engine = create_engine(settings.database_url)
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(RemoteParticipant.connected, RemoteParticipant.left_at).where(
                    RemoteParticipant.id == contact_ack["participant_id"]
                )
            )
        ).one()
    await engine.dispose()
    assert tuple(row) == (False, None)


async def test_a_slot_held_by_a_stopped_node_is_freed_by_the_next_one(
    settings, demo_passwords, calls: CallKit
):
    """A deploy stops the node holding a dropped contact's slot: its timer goes with it. The
    node the inspector comes back to frees the slot after twice its hold time, and says so."""
    calls.passwords.update(demo_passwords)
    first, runner = await start_live_server(replace(settings, call_hold_seconds=45.0))
    try:
        call = await calls.open_call(first.url)
        inspector, _, contact, contact_ack = await calls.joined_pair(call)
        them = contact_ack["participant_id"]
        await contact.close()
        assert (await inspector.next("peer_reconnecting"))["participant_id"] == them
        await inspector.close()
    finally:
        await runner.cleanup()  # the contact's slot stays held, its timer is gone

    quick = replace(settings, call_hold_seconds=0.5, console_sweep_seconds=0.2)
    second, runner = await start_live_server(quick)
    try:
        back = await calls.staff_socket(second.url, call.cookie)
        ack = await back.call("join_call", {"session_id": call.session_id, "device_id": "pc-1"})
        assert ack["ok"] is True, ack
        assert [p["participant_id"] for p in ack["peers"]] == []  # the contact is held, away
        left = await back.next("peer_left", wait=WAIT)
        assert left == {"participant_id": them, "reason": "timeout"}
        call.staff, _ = await calls.login(second.url, "inspector")
        contact_row = next(p for p in (await details(call))["participants"] if p["id"] == them)
    finally:
        await back.close()
        await runner.cleanup()
    assert contact_row["left_at"] is not None
    assert [e["event"] for e in contact_row["events"]][-2:] == ["disconnected", "timed_out"]
