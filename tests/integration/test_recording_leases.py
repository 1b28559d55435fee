"""Recording leases (``inspection_api.recordings.service``): a worker that renewed its lease
late keeps the call it records; a lapsed lease of another worker is taken over."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from inspection_api.db import create_engine, create_sessionmaker, utcnow
from inspection_api.recordings import service as recordings
from inspection_api.recordings.models import Recording
from tests.plugins.browser import StartServer
from tests.plugins.calls import HOLD_SECONDS, CallKit

LEASE = timedelta(seconds=2)


async def test_a_worker_late_to_renew_keeps_its_call_and_a_lapsed_lease_is_taken_over(
    settings, live_server_factory: StartServer, demo_passwords, calls: CallKit
) -> None:
    calls.passwords.update(demo_passwords)
    server = await live_server_factory(replace(settings, call_hold_seconds=HOLD_SECONDS))
    call = await calls.open_call(server.url)
    inspector = await calls.staff_socket(call.url, call.cookie)
    joined = await inspector.call("join_call", {"session_id": call.session_id, "device_id": "pc"})
    assert joined["ok"] is True, joined  # the call is active: a recorder may claim it
    engine = create_engine(server.settings.database_url)
    maker = create_sessionmaker(engine)

    async def holder() -> tuple[str | None, int]:
        async with maker() as session:
            row = await session.scalar(
                select(Recording).where(Recording.session_id == call.session_id)
            )
            assert row is not None
            return row.worker, row.takeovers

    try:
        async with maker() as session:
            claimed = await recordings.claim(session, "w1", lease=LEASE, limit=4)
            await session.commit()
        assert claimed == [call.session_id]

        # w1 records the call, but its event loop stalled past the lease: its own claim
        # round must not take the call over from itself (a second recorder for one call,
        # a takeover counted that never was); its next renewal keeps it.
        late = utcnow() + 2 * LEASE
        async with maker() as session:
            claimed = await recordings.claim(
                session, "w1", lease=LEASE, limit=4, busy={call.session_id}, now=late
            )
            held = await recordings.renew(session, "w1", [call.session_id], lease=LEASE, now=late)
            await session.commit()
        assert (claimed, held) == ([], {call.session_id})
        assert await holder() == ("w1", 0)

        # w1 stops renewing for good: another worker takes the call over, and w1 hears so.
        later = late + 2 * LEASE
        async with maker() as session:
            claimed = await recordings.claim(session, "w2", lease=LEASE, limit=4, now=later)
            held = await recordings.renew(session, "w1", [call.session_id], lease=LEASE, now=later)
            await session.commit()
        assert (claimed, held) == ([call.session_id], set())
        assert await holder() == ("w2", 1)
    finally:
        await engine.dispose()
