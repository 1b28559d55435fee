"""Calls recorded on the server, end to end: real signaling, the in-process recorder (or
``loancheck recorder`` workers), aiortc participants, the object store of each backend,
and the finished files played back from their signed URLs."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import av
import pytest
from aiortc.mediastreams import AudioStreamTrack
from sqlalchemy import select

from inspection_api.db import create_engine, create_sessionmaker
from inspection_api.recordings.models import Recording
from loancheck.resources import open_store
from tests.plugins.browser import LiveServer, StartServer
from tests.plugins.calls import HOLD_SECONDS, CallKit, RemoteCall
from tests.plugins.recording import (
    RecorderFeed,
    SizedPatternTrack,
    WorkerProcess,
    start_recorder,
)

RECORDING = {
    "recorder_mode": "inprocess",
    "recorder_segment_seconds": 2.0,
    "recorder_lease_seconds": 2.0,
}
WAIT = 20.0


@pytest.fixture
async def recording_server(
    settings, live_server_factory: StartServer, demo_passwords, calls: CallKit
) -> LiveServer:
    calls.passwords.update(demo_passwords)
    return await live_server_factory(replace(settings, call_hold_seconds=HOLD_SECONDS, **RECORDING))


async def recording_of(call: RemoteCall, states: tuple[str, ...] = ("ready", "failed")) -> Any:
    """The recording once in one of ``states`` (polled over REST, as the replay page does)."""
    deadline = time.monotonic() + WAIT
    while True:
        async with call.staff.get(f"/api/v1/remote-sessions/{call.session_id}/recording") as r:
            assert r.status == 200, await r.text()
            body = await r.json()
        if body["state"] in states or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.3)


async def fetch(url: str, path: Path) -> Path:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200, await response.text()
        body = await response.read()
    await asyncio.to_thread(path.write_bytes, body)
    return path


def streams_of(path: Path) -> dict[str, Any]:
    with av.open(str(path)) as container:
        return {
            "codecs": sorted(s.codec_context.name for s in container.streams),
            "duration": float(container.duration or 0) / 1_000_000,
        }


async def answered(*feeds: RecorderFeed) -> None:
    await asyncio.wait_for(asyncio.gather(*(f.answered.wait() for f in feeds)), WAIT)


async def test_each_participant_is_recorded_into_the_store_and_replays(
    recording_server: LiveServer, calls: CallKit, tmp_path: Path, decoder_calls: list[str]
) -> None:
    call = await calls.open_call(recording_server.url)
    inspector, inspector_ack, contact, contact_ack = await calls.joined_pair(call)
    feeds = [RecorderFeed(inspector), RecorderFeed(contact)]
    try:
        feeds[0].start(inspector_ack)
        feeds[1].start(contact_ack)
        await answered(*feeds)
        started = time.monotonic()
        await asyncio.sleep(7)
        # Segments reach the store while the call goes on, not only at its end.
        store = await open_store(recording_server.settings)
        try:
            during = [o.key for o in await store.list(f"recordings/{call.session_id}/")]
        finally:
            await store.close()
        assert {k.split("/")[2] for k in during if k.endswith(".webm")} == {
            f"participant-{inspector_ack['participant_id']}",
            f"participant-{contact_ack['participant_id']}",
        }, during
        assert (await inspector.call("end_call"))["ok"] is True
        length = time.monotonic() - started
    finally:
        for feed in feeds:
            await feed.stop()

    assert decoder_calls == []  # the recorder never decoded a frame: no transcoding
    recording = await recording_of(call)
    assert recording["state"] == "ready", recording
    files = {f["kind"]: f for f in recording["files"]}
    assert set(files) == {"inspector", "contact"}
    for kind, file in files.items():
        path = await fetch(file["url"], tmp_path / f"{kind}.webm")
        found = streams_of(path)
        assert found["codecs"] == ["opus", "vp8"], found
        assert abs(found["duration"] - length) <= 1.0, (found, length)
        assert abs(file["duration"] - length) <= 1.0, (file, length)
        assert file["size"] == path.stat().st_size
        assert file["content_type"] == "video/webm"
        assert file["warnings"] == []
        assert file["poster_url"] is not None
        poster = await fetch(file["poster_url"], tmp_path / f"{kind}.jpg")
        assert poster.read_bytes()[:3] == b"\xff\xd8\xff"  # JPEG


async def test_a_participant_who_rejoins_is_recorded_in_a_new_leg(
    recording_server: LiveServer, calls: CallKit, tmp_path: Path
) -> None:
    """The contact's phone drops and comes back with its camera turned (another picture
    size): a new connection to the recorder, a new leg; one playable file in the end."""
    call = await calls.open_call(recording_server.url)
    inspector, inspector_ack, contact, contact_ack = await calls.joined_pair(call)
    inspector_feed = RecorderFeed(inspector)
    contact_feed = RecorderFeed(contact)
    feeds = [inspector_feed, contact_feed]
    try:
        inspector_feed.start(inspector_ack)
        contact_feed.start(contact_ack)
        await answered(*feeds)
        await asyncio.sleep(4)
        await contact_feed.stop()
        await contact.close()  # the phone's connection is gone; its slot is held

        again = await calls.contact_socket(call.url, call.token)
        again_ack = await again.call("join_call", {})
        assert again_ack["ok"] is True and again_ack["resumed"] is True, again_ack
        turned = RecorderFeed(again, lambda: [SizedPatternTrack(240, 320), AudioStreamTrack()])
        feeds.append(turned)
        turned.start(again_ack)
        await answered(turned)
        await asyncio.sleep(4)
        assert (await inspector.call("end_call"))["ok"] is True
    finally:
        for feed in feeds:
            await feed.stop()

    recording = await recording_of(call)
    assert recording["state"] == "ready", recording
    contact_file = next(f for f in recording["files"] if f["kind"] == "contact")
    assert contact_file["legs"] == 2
    path = await fetch(contact_file["url"], tmp_path / "contact.webm")
    with av.open(str(path)) as container:
        sizes = {
            (frame.width, frame.height) for frame in container.decode(video=0)
        }  # plays through the change of picture size
    assert sizes == {(320, 240), (240, 320)}, sizes
    assert contact_file["duration"] >= 7.0, contact_file


async def test_a_killed_recorder_is_taken_over_and_the_recording_goes_on(
    settings,
    live_server_factory: StartServer,
    demo_passwords,
    calls: CallKit,
    recorder_processes: list[WorkerProcess],
    tmp_path: Path,
) -> None:
    """kill -9 the worker recording a call: the call goes on, what it recorded stays
    playable (its spool is uploaded by the next worker on the host), and the next worker
    takes the call over within a lease; the recording continues in new legs."""
    calls.passwords.update(demo_passwords)
    server = await live_server_factory(
        replace(settings, call_hold_seconds=30.0, recorder_mode="workers")
    )
    first = await start_recorder(server.settings, server.url, tmp_path / "first.log")
    recorder_processes.append(first)
    call = await calls.open_call(server.url)
    inspector, inspector_ack, contact, contact_ack = await calls.joined_pair(call)
    feeds = [RecorderFeed(inspector), RecorderFeed(contact)]
    try:
        for feed, ack in zip(feeds, (inspector_ack, contact_ack), strict=True):
            feed.start(ack)
        await answered(*feeds)
        await asyncio.sleep(12)  # a complete 10 s segment, and one in progress
        first.process.kill()  # SIGKILL: no clean-up at all
        first.process.wait()

        # The call itself is untouched: both sockets still talk through signaling.
        assert (await inspector.call("set_media", {"audio": True, "video": True}))["ok"]
        for feed in feeds:
            feed.answered.clear()
        second = await start_recorder(server.settings, server.url, tmp_path / "second.log")
        recorder_processes.append(second)
        # Timed from the new worker's start: the seconds its interpreter takes to import
        # (11 s seen on a loaded 2-core machine) are this machine's, not the takeover's.
        second_started = time.monotonic()
        await answered(*feeds)  # the new recorder joined; the participants offered again
        taken_over = time.monotonic() - second_started
        await asyncio.sleep(4)
        assert (await inspector.call("end_call"))["ok"] is True
    finally:
        for feed in feeds:
            await feed.stop()

    recording = await recording_of(call)
    assert recording["state"] == "ready", (recording, second.output())
    assert recording["takeovers"] == 1
    # The segment the killed worker was writing was uploaded from its spool by the next
    # worker on this host: each first leg has its complete segment and that one.
    store = await open_store(server.settings)
    try:
        keys = [o.key for o in await store.list(f"recordings/{call.session_id}/participant-")]
    finally:
        await store.close()
    for file in recording["files"]:
        legs = sorted(
            {k.split("/")[3] for k in keys if f"/participant-{file['participant_id']}/" in k}
        )
        first_leg = [k.rsplit("/", 1)[1] for k in keys if f"/{legs[0]}/" in k]
        assert {"segment-00001.webm", "segment-00002.webm"} <= set(first_leg), keys
    assert taken_over <= 8.0 + 2.0, taken_over  # one lease, plus a poll and the join
    for file in recording["files"]:
        assert file["legs"] == 2, file
        path = await fetch(file["url"], tmp_path / f"{file['kind']}.webm")
        found = streams_of(path)
        assert found["codecs"] == ["opus", "vp8"], found
        # 12 s before the kill (the last ~second of it may be lost) and 4 s after.
        assert found["duration"] >= 14.5, (file, found)


# An offer that passes signaling's checks (it starts with v=0) and that no peer can answer.
GARBAGE_OFFER = {"type": "offer", "sdp": "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"}


async def test_a_garbage_offer_is_refused_and_the_participant_records_on(
    recording_server: LiveServer, calls: CallKit, tmp_path: Path
) -> None:
    """The contact's page sends the recorder an offer it cannot answer in the middle of
    the call: the page hears the refusal, and its working connection records on."""
    call = await calls.open_call(recording_server.url)
    inspector, inspector_ack, contact, contact_ack = await calls.joined_pair(call)
    feeds = [RecorderFeed(inspector), RecorderFeed(contact)]
    try:
        feeds[0].start(inspector_ack)
        feeds[1].start(contact_ack)
        await answered(*feeds)
        started = time.monotonic()
        await asyncio.sleep(3)
        ack = await contact.call(
            "send_signal", {"to": feeds[1].recorder, "description": GARBAGE_OFFER}
        )
        assert ack == {"ok": True}, ack
        await asyncio.wait_for(feeds[1].refused.wait(), WAIT)
        assert feeds[1].errors[0]["code"] == "offer_refused", feeds[1].errors
        await asyncio.sleep(3)
        assert (await inspector.call("end_call"))["ok"] is True
        length = time.monotonic() - started
    finally:
        for feed in feeds:
            await feed.stop()

    recording = await recording_of(call)
    assert recording["state"] == "ready", recording
    assert recording["missing"] == []
    contact_file = next(f for f in recording["files"] if f["kind"] == "contact")
    assert contact_file["legs"] == 1, contact_file
    path = await fetch(contact_file["url"], tmp_path / "contact.webm")
    found = streams_of(path)
    assert found["codecs"] == ["opus", "vp8"], found
    assert found["duration"] >= length - 1.0, (found, length)


async def test_a_participant_whose_media_never_arrives_is_named_and_the_other_replays(
    recording_server: LiveServer, calls: CallKit, tmp_path: Path
) -> None:
    """The contact's offer is answered, but no packet of its ever reaches the recorder
    (its network blocks the way): the inspector's recording is ready all the same, and
    the contact is named as missing, with why."""
    call = await calls.open_call(recording_server.url)
    inspector, inspector_ack, contact, contact_ack = await calls.joined_pair(call)
    feeds = [RecorderFeed(inspector), RecorderFeed(contact, reachable=False)]
    try:
        feeds[0].start(inspector_ack)
        feeds[1].start(contact_ack)
        await answered(*feeds)
        await asyncio.sleep(4)
        assert (await inspector.call("end_call"))["ok"] is True
    finally:
        for feed in feeds:
            await feed.stop()

    recording = await recording_of(call)
    assert recording["state"] == "ready", recording
    assert [f["participant_id"] for f in recording["files"]] == [inspector_ack["participant_id"]]
    path = await fetch(recording["files"][0]["url"], tmp_path / "inspector.webm")
    assert streams_of(path)["duration"] >= 3.0
    [missing] = recording["missing"]
    assert missing["participant_id"] == contact_ack["participant_id"]
    assert missing["kind"] == "contact" and missing["display_name"] == "刘联系"
    assert missing["reason"] == "no_media", missing


async def test_a_participant_whose_only_offer_was_garbage_is_named(
    recording_server: LiveServer, calls: CallKit, tmp_path: Path
) -> None:
    """The contact's page only ever sends the recorder an offer it cannot answer: the
    inspector's recording is ready, the contact is named with the refusal as the reason."""
    call = await calls.open_call(recording_server.url)
    inspector, inspector_ack, contact, contact_ack = await calls.joined_pair(call)
    feed = RecorderFeed(inspector)
    try:
        feed.start(inspector_ack)
        await answered(feed)
        recorder = feed.recorder
        ack = await contact.call("send_signal", {"to": recorder, "description": GARBAGE_OFFER})
        assert ack == {"ok": True}, ack
        refusal = await contact.next("signal", WAIT)
        assert refusal["from"] == recorder and refusal["error"]["code"] == "offer_refused"
        await asyncio.sleep(3)
        assert (await inspector.call("end_call"))["ok"] is True
    finally:
        await feed.stop()

    recording = await recording_of(call)
    assert recording["state"] == "ready", recording
    assert [f["kind"] for f in recording["files"]] == ["inspector"]
    [missing] = recording["missing"]
    assert missing["participant_id"] == contact_ack["participant_id"]
    assert missing["reason"] == "offer_refused", missing
    assert "could not be answered" in missing["detail"], missing


async def holder_of(settings, session_id: int) -> str | None:
    """The name of the recorder worker holding a call's lease."""
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return await session.scalar(
                select(Recording.worker).where(Recording.session_id == session_id)
            )
    finally:
        await engine.dispose()


async def test_a_worker_killed_beside_a_running_one_loses_only_the_takeover(
    settings,
    live_server_factory: StartServer,
    demo_passwords,
    calls: CallKit,
    recorder_processes: list[WorkerProcess],
    tmp_path: Path,
) -> None:
    """Two workers run; kill -9 the one recording a call in the middle of its first
    (10 s) segment. The other one, already running, uploads the dead worker's spool, takes
    the call over at once (not after the 8 s lease) and assembles it: each file covers the
    call but for the takeover gap (and the last second the killed worker had not flushed)."""
    calls.passwords.update(demo_passwords)
    server = await live_server_factory(
        replace(settings, call_hold_seconds=30.0, recorder_mode="workers")
    )
    workers = [
        await start_recorder(server.settings, server.url, tmp_path / f"worker-{n}.log")
        for n in (1, 2)
    ]
    recorder_processes.extend(workers)
    call = await calls.open_call(server.url)
    inspector, inspector_ack, contact, contact_ack = await calls.joined_pair(call)
    feeds = [RecorderFeed(inspector), RecorderFeed(contact)]
    try:
        for feed, ack in zip(feeds, (inspector_ack, contact_ack), strict=True):
            feed.start(ack)
        await answered(*feeds)
        started = time.monotonic()
        await asyncio.sleep(6)  # inside the first segment: nothing of it is in the store yet
        holder = await holder_of(server.settings, call.session_id)
        [victim] = [w for w in workers if f"LoanCheck recorder {holder}:" in w.output()]
        [survivor] = [w for w in workers if w is not victim]
        for feed in feeds:
            feed.answered.clear()
        victim.process.kill()  # SIGKILL: no clean-up at all
        victim.process.wait()
        killed_at = time.monotonic()
        await answered(*feeds)  # the survivor took the call over; the pages offered again
        taken_over = time.monotonic() - killed_at
        await asyncio.sleep(4)
        assert (await inspector.call("end_call"))["ok"] is True
        length = time.monotonic() - started
    finally:
        for feed in feeds:
            await feed.stop()

    recording = await recording_of(call)
    assert recording["state"] == "ready", (recording, survivor.output())
    assert recording["takeovers"] == 1 and recording["missing"] == [], recording
    for file in recording["files"]:
        assert file["legs"] == 2, file
        path = await fetch(file["url"], tmp_path / f"{file['kind']}.webm")
        found = streams_of(path)
        assert found["codecs"] == ["opus", "vp8"], found
        # Lost: the takeover gap, and up to a second the killed worker had not flushed
        # (plus a key frame's wait at each leg's start).
        assert found["duration"] >= length - taken_over - 2.0, (file, found, length, taken_over)
    # Taken over once the spool lock showed the holder dead, not when its lease ran out.
    # The goal is 3 s (bench/takeover_gap.py measures it); this machine is shared.
    assert taken_over <= 5.0, taken_over
