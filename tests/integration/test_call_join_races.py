"""Joins that overlap, on a real port (both backends). The server is paused inside the
first join right after its transaction ended (committed, nobody told yet) while the second
one runs through: the order in which an unserialized join announced a peer twice, let an
older connection replace a newer one, or joined a call being ended."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.db import create_engine
from inspection_api.remote import service
from signaling.server import CALL
from tests.integration.test_call_signaling import details
from tests.plugins.browser import LiveServer
from tests.plugins.calls import WAIT, CallClient, CallKit

CANDIDATE = {"candidate": "candidate:1 1 udp 2122260223 192.0.2.7 50000 typ host", "sdpMid": "0"}


def pause_after_transaction(server: LiveServer, meanwhile: Callable[[], Awaitable[None]]) -> None:
    """The next database session the call namespace opens (a join's) runs ``meanwhile``
    to its end once that session is closed: the join has committed and released whatever
    it locked, and has not yet told anyone."""
    namespace = server.app[CALL]
    open_session = namespace._db

    def paused_session() -> AsyncSession:
        namespace._db = open_session  # type: ignore[method-assign]
        session = open_session()
        close = session.close

        async def close_then_wait() -> None:
            await close()
            await meanwhile()

        session.close = close_then_wait  # type: ignore[method-assign]
        return session

    namespace._db = paused_session  # type: ignore[method-assign]


async def heard_about(client: CallClient, barrier_from: CallClient, to: int) -> list[Any]:
    """Every ``peer_joined`` ``client`` got, once everything emitted before now arrived:
    ``barrier_from`` signals ``client`` (participant ``to``), and events reach a socket in
    the order they were emitted."""
    assert (await barrier_from.call("send_signal", {"to": to, "candidate": CANDIDATE}))["ok"]
    await client.next("signal")
    return [event["participant_id"] for event in client.pending("peer_joined")]


async def join_at_once(calls: CallKit, node1: Any, node2: Any) -> None:
    """The contact's join (on ``node2``) has committed but not yet announced itself when the
    inspector's join (on ``node1``) runs: each learns of the other exactly once, in
    ``peers`` or by ``peer_joined``."""
    call = await calls.open_call(node1.url)
    inspector = await calls.staff_socket(call.url, call.cookie)
    contact = await calls.contact_socket(node2.url, call.token)
    inspector_ack: dict[str, Any] = {}

    async def inspector_joins() -> None:
        data = {"session_id": call.session_id, "device_id": "pc-1"}
        inspector_ack.update(await inspector.call("join_call", data))

    pause_after_transaction(node2, inspector_joins)
    contact_ack = await contact.call("join_call", {})
    assert inspector_ack["ok"] is True and contact_ack["ok"] is True, (inspector_ack, contact_ack)
    me, them = inspector_ack["participant_id"], contact_ack["participant_id"]

    told_inspector = [p["participant_id"] for p in inspector_ack["peers"]]
    told_inspector += await heard_about(inspector, contact, me)
    told_contact = [p["participant_id"] for p in contact_ack["peers"]]
    told_contact += await heard_about(contact, inspector, them)
    assert (told_inspector, told_contact) == ([them], [me])


async def test_two_participants_joining_at_once_hear_of_each_other_once(
    call_server, calls: CallKit
):
    """Both on one node: each learns of the other exactly once."""
    await join_at_once(calls, call_server, call_server)


async def test_a_late_bind_of_an_older_connection_never_replaces_the_newer_one(
    call_server, calls: CallKit
):
    """The contact's phone joins from a socket whose join stalls after committing while a
    second socket of the same phone joins through: the second (newer generation) stays in
    the call, the stalled one is closed, and the room does not hear the phone drop."""
    call = await calls.open_call(call_server.url)
    inspector = await calls.staff_socket(call.url, call.cookie)
    ack = await inspector.call("join_call", {"session_id": call.session_id, "device_id": "pc-1"})
    me = ack["participant_id"]
    first = await calls.contact_socket(call.url, call.token)
    second = await calls.contact_socket(call.url, call.token)
    second_ack: dict[str, Any] = {}
    second_joined = asyncio.Event()

    async def second_joins() -> None:
        second_ack.update(await second.call("join_call", {}))
        second_joined.set()

    pause_after_transaction(call_server, second_joins)
    first_ack: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    await first.emit("join_call", {}, callback=first_ack.set_result)
    closed = asyncio.ensure_future(first.disconnected.wait())
    done, _ = await asyncio.wait({first_ack, closed}, timeout=WAIT, return_when="FIRST_COMPLETED")
    assert done == {closed}, first_ack.result() if first_ack.done() else "no answer"
    await asyncio.wait_for(second_joined.wait(), WAIT)
    assert second_ack["ok"] is True, second_ack
    them = second_ack["participant_id"]

    # The newer socket still talks and is talked to; the room did not see it drop.
    assert (await inspector.call("send_signal", {"to": them, "candidate": None}))["ok"]
    assert await second.next("signal") == {"from": me, "candidate": None}
    assert (await second.call("send_signal", {"to": me, "candidate": None}))["ok"]
    assert await inspector.next("signal") == {"from": them, "candidate": None}
    assert inspector.pending("peer_reconnecting") == []
    assert not second.disconnected.is_set()


async def test_one_socket_joining_twice_at_once_joins_once(call_server, calls: CallKit):
    """A page sends ``join_call`` again (a double tap) while its first one is still being
    handled: the second is refused ``already_joined``, and the inspector hears it once."""
    call = await calls.open_call(call_server.url)
    inspector = await calls.staff_socket(call.url, call.cookie)
    ack = await inspector.call("join_call", {"session_id": call.session_id, "device_id": "pc-1"})
    me = ack["participant_id"]
    contact = await calls.contact_socket(call.url, call.token)
    again: dict[str, Any] = {}

    async def joins_again() -> None:
        again.update(await contact.call("join_call", {}))

    pause_after_transaction(call_server, joins_again)
    first = await contact.call("join_call", {})
    assert first["ok"] is True, first
    assert (again["ok"], again["error"]["code"]) == (False, "already_joined"), again
    them = first["participant_id"]
    assert await heard_about(inspector, contact, me) == [them]
    assert (await inspector.call("send_signal", {"to": them, "candidate": None}))["ok"]
    assert await contact.next("signal") == {"from": me, "candidate": None}
    detail = await details(call)
    assert {p["id"]: p["connected"] for p in detail["participants"]} == {me: True, them: True}


async def test_a_join_while_the_call_is_being_ended_finds_it_closed(
    call_server, calls: CallKit, monkeypatch: pytest.MonkeyPatch
):
    """The contact joins while the inspector's 结束通话 has closed the slots but not yet
    committed: the join waits for it and is refused 本次远程巡检已结束, and no participant
    of the ended session is left in the call (unserialized, the contact joined an ended
    call and stayed connected in it)."""
    if call_server.settings.database_url.startswith("sqlite"):
        pytest.skip("needs two concurrent write transactions: SQLite has one writer")
    call = await calls.open_call(call_server.url)
    inspector = await calls.staff_socket(call.url, call.cookie)
    ack = await inspector.call("join_call", {"session_id": call.session_id, "device_id": "pc-1"})
    assert ack["ok"] is True, ack
    contact = await calls.contact_socket(call.url, call.token)
    join: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    end_session = service.end_session

    async def end_then_join(*args: Any, **kwargs: Any) -> Any:
        ended = await end_session(*args, **kwargs)
        await contact.emit("join_call", {}, callback=join.set_result)
        waiting = asyncio.ensure_future(waits_for_a_lock(call_server.settings.database_url))
        await asyncio.wait({join, waiting}, timeout=WAIT, return_when="FIRST_COMPLETED")
        waiting.cancel()
        return ended

    monkeypatch.setattr(service, "end_session", end_then_join)
    assert await inspector.call("end_call") == {"ok": True}
    answer = await asyncio.wait_for(join, WAIT)
    assert (answer["ok"], answer["error"]["code"]) == (False, "session_closed"), answer
    detail = await details(call)
    assert detail["state"] == "ended"
    assert [p["connected"] for p in detail["participants"]] == [False]


async def waits_for_a_lock(database_url: str) -> None:
    """Returns once a connection to the test database waits for a row lock. PostgreSQL
    announces no such thing, so this asks it, every 10 ms."""
    engine = create_engine(database_url)
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    try:
        while True:
            async with engine.connect() as connection:
                if await connection.scalar(query):
                    return
            await asyncio.sleep(0.01)
    finally:
        await engine.dispose()


async def test_joining_at_once_on_two_nodes_each_hears_of_the_other_once(
    call_server, live_server_factory, calls: CallKit
):
    """As above, the contact's join paused on node 2 after committing, the inspector's
    running through on node 1 (one PostgreSQL, one Redis channel): each learns of the other
    once, across the nodes."""
    if call_server.settings.redis_url is None:
        pytest.skip("two nodes need the Redis manager and PostgreSQL")
    node2 = await live_server_factory(call_server.settings)
    await join_at_once(calls, call_server, node2)
