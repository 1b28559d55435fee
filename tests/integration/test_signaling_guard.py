"""Frames outside the Socket.IO protocol we speak, sent by a real client on a real port (both
backends): binary attachments, binary events, undecodable packets, floods of frames that
reach no event handler. The server buffers nothing, closes that socket with one log line and
no traceback, and the call next to it goes on.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from signaling.guard import GuardedServer
from signaling.server import CALL
from tests.plugins.calls import WAIT, CallClient, CallKit

ATTACHMENT = b"\0" * 60_000  # just under the 64 KiB message limit
PLACEHOLDER = json.dumps(["send_signal", {"_placeholder": True, "num": 0}])


def frames(kind: str) -> list[str | bytes]:
    """What a misbehaving client sends, in order."""
    if kind == "announced attachments":  # the header promises 9,999,999,999 of them
        return [f"59999999999-/call,{PLACEHOLDER}"] + [ATTACHMENT] * 300
    if kind == "attachments nobody announced":
        return [ATTACHMENT] * 300
    if kind == "binary events for a namespace not joined":
        return [f"51-/console,{PLACEHOLDER}"] * 2000
    if kind == "undecodable packets":
        return ['2/call,["send_signal",'] * 2000
    if kind == "events without a name":
        return ['2/call,{"to":1}'] * 2000
    raise AssertionError(kind)


async def send_raw(client: CallClient, data: list[str | bytes]) -> None:
    """Engine.IO messages as they are, below python-socketio's encoder."""
    for frame in data:
        if client.disconnected.is_set():
            return
        await client.sio.eio.send(frame)


async def signals_still_flow(
    inspector: CallClient, inspector_ack: Any, contact: CallClient
) -> None:
    ack = await contact.call(
        "send_signal", {"to": inspector_ack["participant_id"], "candidate": None}
    )
    assert ack == {"ok": True}
    assert (await inspector.next("signal"))["candidate"] is None
    assert (await inspector.call("set_media", {"audio": True, "video": False}))["ok"]


def server_of(call_server: Any) -> GuardedServer:
    server = call_server.app[CALL].server
    assert isinstance(server, GuardedServer)
    return server


@pytest.mark.parametrize(
    "kind",
    [
        "announced attachments",
        "attachments nobody announced",
        "binary events for a namespace not joined",
        "undecodable packets",
        "events without a name",
    ],
)
async def test_a_frame_outside_the_protocol_closes_that_socket_and_nothing_is_kept(
    call_server, calls: CallKit, caplog, kind
):
    call = await calls.open_call(call_server.url)
    inspector, inspector_ack, contact, _ = await calls.joined_pair(call)
    _, second_invite = await calls.invite(call, "王联系")
    # A socket holding nothing but an invite link: connected, never joined.
    attacker = await calls.contact_socket(call.url, second_invite, device_id="phone-2")
    server = server_of(call_server)
    eio_sid = attacker.sio.eio.sid
    caplog.set_level(logging.INFO)

    await send_raw(attacker, frames(kind))
    await asyncio.wait_for(attacker.disconnected.wait(), WAIT)

    # Nothing of it is kept: no half-received binary event, no socket, no limiter.
    assert server._binary_packet == {}
    for _ in range(50):
        if eio_sid not in server.eio.sockets:
            break
        await asyncio.sleep(0.1)
    assert eio_sid not in server.eio.sockets
    assert eio_sid not in server.frame_limiters
    # One line for the socket, not one per frame, and no traceback.
    closing = [r for r in caplog.records if r.name == "signaling.guard"]
    assert len(closing) == 1, [r.getMessage() for r in closing]
    assert eio_sid in closing[0].getMessage() and "127.0.0.1" in closing[0].getMessage()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    noisy = [r for r in caplog.records if r.name.startswith(("socketio", "engineio"))]
    assert [r for r in noisy if r.levelno >= logging.WARNING] == []
    # The call next to it goes on.
    await signals_still_flow(inspector, inspector_ack, contact)


async def test_frames_that_reach_no_handler_are_rate_limited_then_cut_off(
    call_server, calls: CallKit, caplog
):
    call = await calls.open_call(call_server.url)
    inspector, inspector_ack, contact, _ = await calls.joined_pair(call)
    _, second_invite = await calls.invite(call, "王联系")
    attacker = await calls.contact_socket(call.url, second_invite, device_id="phone-2")
    server = server_of(call_server)
    eio_sid = attacker.sio.eio.sid
    caplog.set_level(logging.INFO)

    # Well-formed events, but for /console, which this socket never joined: no namespace
    # limits them, and python-socketio warned once per frame.
    await send_raw(attacker, ['2/console,["hello"]'] * 2000)
    await asyncio.wait_for(attacker.disconnected.wait(), WAIT)

    assert eio_sid not in server.frame_limiters
    closing = [r.getMessage() for r in caplog.records if r.name == "signaling.guard"]
    assert len(closing) == 1 and "flood" in closing[0], closing
    noisy = [r for r in caplog.records if r.name.startswith(("socketio", "engineio"))]
    assert [r for r in noisy if r.levelno >= logging.WARNING] == []
    await signals_still_flow(inspector, inspector_ack, contact)


async def test_frames_that_reach_no_handler_below_the_cut_off_close_nothing(
    call_server, calls: CallKit, caplog
):
    call = await calls.open_call(call_server.url)
    inspector, inspector_ack, contact, _ = await calls.joined_pair(call)
    server = server_of(call_server)
    eio_sid = contact.sio.eio.sid
    caplog.set_level(logging.INFO)
    # The burst (100) passes, the rest is dropped: 450 drops, under the 500 that cut off.
    await send_raw(contact, ['2/console,["hello"]'] * 550)
    await signals_still_flow(inspector, inspector_ack, contact)
    assert not contact.disconnected.is_set()
    assert eio_sid in server.frame_limiters
    assert [r for r in caplog.records if r.name == "signaling.guard"] == []
    noisy = [r for r in caplog.records if r.name.startswith(("socketio", "engineio"))]
    assert [r for r in noisy if r.levelno >= logging.WARNING] == []
