"""A call across two ``loancheck serve`` processes (one PostgreSQL, one Redis): the inspector
on node 1, the contact on node 2 meet in one room, signal both ways, exchange real media
(aiortc), survive a reconnect to the other node, and both hear the end of the call."""

from __future__ import annotations

from typing import Any

import pytest

from inspection_api.demo import seed_demo
from tests.plugins.calls import CallKit

pytestmark = pytest.mark.services

OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
CANDIDATE = {"candidate": "candidate:1 1 udp 2122260223 192.0.2.7 50000 typ host", "sdpMid": "0"}
MEDIA_WAIT = 20.0


async def call_across(nodes: Any, calls: CallKit) -> tuple[Any, ...]:
    """A call opened on node 1, the inspector joined there and the contact on node 2:
    (node1, node2, call, inspector, its participant id, contact, its participant id)."""
    node1, node2, settings = nodes
    calls.passwords.update({u: p for u, p, _ in await seed_demo(settings)})
    call = await calls.open_call(node1.url)
    inspector, inspector_ack, contact, contact_ack = await calls.joined_pair(
        call, contact_url=node2.url
    )
    me, them = inspector_ack["participant_id"], contact_ack["participant_id"]
    assert [p["participant_id"] for p in contact_ack["peers"]] == [me]  # from the database
    assert (await inspector.next("peer_joined"))["participant_id"] == them  # through Redis
    return node1, node2, call, inspector, me, contact, them


async def test_a_call_spans_two_nodes(nodes, calls: CallKit):
    node1, node2, call, inspector, me, contact, them = await call_across(nodes, calls)

    offer = {"type": "offer", "sdp": OFFER}
    assert await inspector.call("send_signal", {"to": them, "description": offer}) == {"ok": True}
    assert await contact.next("signal") == {"from": me, "description": offer}
    assert await contact.call("send_signal", {"to": me, "candidate": CANDIDATE}) == {"ok": True}
    assert await inspector.next("signal") == {"from": them, "candidate": CANDIDATE}
    assert (await contact.call("set_media", {"audio": True, "video": False}))["ok"]
    assert (await inspector.next("media"))["video"] is False

    # Real media, negotiated across the nodes.
    inspector_peer, contact_peer = calls.peer(inspector), calls.peer(contact)
    await inspector_peer.offer_to(them)
    for peer in (inspector_peer, contact_peer):
        frames = await peer.frames("video", 10, MEDIA_WAIT)
        assert {(f.width, f.height) for f in frames} == {(320, 240)}
        assert len(await peer.frames("audio", 5, MEDIA_WAIT)) == 5
    await contact_peer.close()
    await inspector_peer.close()

    # The phone drops off node 2 and comes back through node 1: the same participant.
    await contact.close()
    assert await inspector.next("peer_reconnecting") == {"participant_id": them}
    again = await calls.contact_socket(node1.url, call.token, "phone-1")
    ack = await again.call("join_call")
    assert (ack["participant_id"], ack["resumed"]) == (them, True)
    assert (await inspector.next("peer_joined"))["resumed"] is True
    assert (await inspector.call("send_signal", {"to": them, "candidate": None}))["ok"]
    assert await again.next("signal") == {"from": me, "candidate": None}

    # The inspector moves to node 2 meanwhile; ending there reaches node 1's contact.
    await inspector.close()
    assert (await again.next("peer_reconnecting"))["participant_id"] == me
    moved = await calls.staff_socket(node2.url, call.cookie)
    ack = await moved.call("join_call", {"session_id": call.session_id, "device_id": "pc-1"})
    assert (ack["participant_id"], ack["resumed"]) == (me, True)
    # What the contact said it sends (on node 2, before it moved) reaches a joiner anywhere.
    media = next(p["media"] for p in ack["peers"] if p["participant_id"] == them)
    assert media == {"audio": True, "video": False, "facing": None}
    assert (await again.next("peer_joined"))["participant_id"] == me
    assert await moved.call("end_call") == {"ok": True}
    assert (await again.next("call_ended"))["by"] == me


async def test_revoking_an_invite_on_one_node_removes_the_contact_held_by_the_other(
    nodes, calls: CallKit
):
    """The contact's socket is on node 2, the inspector revokes its invite through node 1:
    the contact hears ``removed`` and the inspector ``peer_left``; node 2 still holds the
    socket, and refuses its next message, so a page ignoring ``removed`` signals nobody."""
    _, _, call, inspector, me, contact, them = await call_across(nodes, calls)

    url = f"/api/v1/remote-sessions/{call.session_id}/invites/{call.invite_id}"
    async with call.staff.delete(url) as response:
        assert response.status == 204, await response.text()
    assert (await contact.next("removed"))["reason"] == "invite_revoked"
    assert await inspector.next("peer_left") == {"participant_id": them, "reason": "removed"}
    offer = {"type": "offer", "sdp": OFFER}
    ack = await contact.call("send_signal", {"to": me, "description": offer})
    assert (ack["ok"], ack["error"]["code"]) == (False, "not_joined")
    assert inspector.pending("signal") == []


async def test_a_rejoin_on_the_other_node_takes_the_old_socket_out_of_the_call(
    nodes, calls: CallKit
):
    """The phone's socket on node 2 is still open (its drop not yet noticed) when the phone
    rejoins through node 1: node 2's old socket leaves the call there — it hears nothing
    more of it and its messages are refused — and the inspector hears the phone once."""
    node1, _, call, inspector, me, contact, them = await call_across(nodes, calls)
    again = await calls.contact_socket(node1.url, call.token, "phone-1")
    ack = await again.call("join_call")
    assert (ack["participant_id"], ack["resumed"], ack["peers"][0]["participant_id"]) == (
        them,
        True,
        me,
    )
    assert (await inspector.next("peer_joined"))["resumed"] is True

    # Published through Redis after the rejoin closed the phone's room there: node 2 has
    # taken the old socket out by the time it relays this.
    assert await again.call("set_media", {"audio": True, "video": True}) == {"ok": True}
    assert (await inspector.next("media"))["participant_id"] == them
    refused = await contact.call("send_signal", {"to": me, "candidate": None})
    assert (refused["ok"], refused["error"]["code"]) == (False, "not_joined")
    assert contact.pending("media") == []  # it would have come before that answer
    assert inspector.pending("peer_joined") == [] and inspector.pending("peer_reconnecting") == []
    assert (await inspector.call("send_signal", {"to": them, "candidate": None}))["ok"]
    assert await again.next("signal") == {"from": me, "candidate": None}
