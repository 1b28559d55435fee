"""The recorder worker: records every active call, once, on whichever process holds it.

Each worker claims calls through database leases (``inspection_api.recordings.service``),
renews them every lease/4 (in a task of its own, so nothing else the worker does delays
a renewal), and joins each call it holds as the receive-only recorder participant, over
the same ``/call`` Socket.IO namespace the browsers use, so signaling reaches it on any
node. Participants offer their tracks to it; every offer is a new leg
(``recorder.session.CallRecording``). Segments go to the object store while the call goes
on (``spool``). When the call ends the worker assembles one file per participant
(``assemble``). A worker that dies leaves its spool lock free: a worker on the same host
sees that within ``WATCH_SECONDS``, uploads the spool and takes its calls over at once; a
worker elsewhere does when the lease runs out. The new holder joins the call again (the
pages offer anew) and the recording goes on in new legs.

It runs inside each app node (``LOANCHECK_RECORDER=inprocess``) or as ``loancheck
recorder`` processes (``workers``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import signal
import socket
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import socketio
from aiortc import RTCConfiguration, RTCIceServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inspection_api.recordings import service as recordings
from inspection_api.recordings.models import RecordingState
from inspection_api.remote.models import SessionState
from inspection_api.remote.rules import ice_servers
from inspection_api.tokens import recorder_credential
from loancheck.assemble import assemble, refusal_key
from loancheck.settings import Settings
from loancheck.spool import LegUploads, Orphan, Spool, upload_orphan
from recorder.session import CallRecording, SignalRejected
from recorder.sink import RecorderSettings
from storage.base import ObjectStore

log = logging.getLogger(__name__)

NAMESPACE = "/call"
POLL_SECONDS = 1.0  # how often a worker looks for calls to record
WATCH_SECONDS = 0.2  # how often it looks for a dead worker on its host (spool locks)
UPLOAD_SECONDS = 2.0  # how often finished segments go to the store during a call
ACK_SECONDS = 10.0
RETRY_SECONDS = 2.0
STATE_CHECK_SECONDS = 5.0  # how often a recorder asks the database whether its call goes on


def worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


def signaling_url(settings: Settings) -> str:
    """The configured signaling URL, or this node's own listener."""
    if settings.recorder_signaling_url:
        return settings.recorder_signaling_url
    scheme = "https" if settings.tls_cert or settings.tls_self_signed else "http"
    host = "127.0.0.1" if settings.host in ("", "0.0.0.0", "::") else settings.host
    return f"{scheme}://{host}:{settings.port}"


def rtc_configuration(settings: Settings) -> RTCConfiguration:
    """The recorder's ICE servers: the same STUN/TURN as the browsers (none: host only)."""
    servers = [
        RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
        for s in ice_servers(settings, "recorder")
    ]
    return RTCConfiguration(iceServers=servers)


class RecorderWorker:
    """Claims calls and records each in a ``CallRecorder`` task until it ends or is lost."""

    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        store: ObjectStore,
        *,
        name: str | None = None,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.store = store
        self.name = name or worker_name()
        self.lease = timedelta(seconds=settings.recorder_lease_seconds)
        self.spool = Spool(settings.data_dir, self.name)
        self.calls: dict[int, asyncio.Task[None]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._recovering = asyncio.Lock()
        self._orphans: list[Orphan] = []  # dead workers' spools this worker took, to upload
        self._dead: set[str] = set()  # workers found dead whose leases are still to free
        self._wake = asyncio.Event()  # a worker on this host died: claim its calls now
        self._watch_task: asyncio.Task[None] | None = None
        self._renew_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await asyncio.to_thread(self.spool.open)
        # Their leases are freed by the loop: starting needs no database.
        await self.recover_spools(free_leases=False)
        self._loop_task = asyncio.create_task(self._run(), name=f"recorder-{self.name}")
        self._watch_task = asyncio.create_task(self._watch_spools(), name=f"spools-{self.name}")
        self._renew_task = asyncio.create_task(self._renew_leases(), name=f"leases-{self.name}")
        log.info("recorder %s started", self.name)

    async def stop(self) -> None:
        """Stop claiming; every call ends its legs, uploads them and gives its lease up,
        so another worker takes over at once."""
        for loop_task in (self._loop_task, self._watch_task, self._renew_task):
            if loop_task is not None:
                loop_task.cancel()
                await asyncio.gather(loop_task, return_exceptions=True)
        tasks = list(self.calls.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for orphan in self._orphans:  # not uploaded yet: left to the next worker
            os.close(orphan.fd)
        self._orphans.clear()
        await asyncio.to_thread(self.spool.close)

    async def recover_spools(self, *, free_leases: bool = True) -> None:
        """Upload what dead workers on this host left in their spools, and free their
        leases so their calls are taken over now rather than when the leases run out. A
        worker about to assemble a call calls this first: the segment a killed worker was
        writing is in no store until someone uploads it."""
        async with self._recovering:  # one at a time: the others wait for its uploads
            await self._find_dead(free_leases=free_leases)
            # One that fails gives its lock up: it is found, and tried, again next time.
            orphans, self._orphans = self._orphans, []
            for orphan in orphans:
                await upload_orphan(self.spool, orphan, self.store)

    async def _find_dead(self, *, free_leases: bool) -> None:
        """Take the spools of workers on this host that are gone (their locks are free) and
        free their leases. (Holding ``_recovering``.)"""
        try:
            found = await asyncio.to_thread(self.spool.orphans)
        except OSError:
            log.warning("looking for stopped recorders' spools failed", exc_info=True)
            found = []
        self._orphans.extend(found)
        self._dead.update(o.worker for o in found if o.worker is not None)
        if not free_leases:
            return
        for worker in sorted(self._dead):
            try:
                async with self.sessionmaker() as session:
                    freed = await recordings.release_worker(session, worker)
                    await session.commit()
            except Exception:  # tried again on the next round
                log.warning("freeing the calls of %s failed", worker, exc_info=True)
                continue
            self._dead.discard(worker)
            if freed:
                log.warning("recorder %s is gone: %d call(s) to take over", worker, freed)

    async def _watch_spools(self) -> None:
        """Wake the loop as soon as a worker on this host dies: its calls go on unrecorded
        until taken over."""
        seen: set[str] = set()
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            try:
                found = await asyncio.to_thread(self.spool.orphan_names)
            except OSError:
                log.warning("watching the spools failed", exc_info=True)
                continue
            if found - seen:  # a spool that failed to upload is retried at the poll pace
                self._wake.set()
            seen = found

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            async with self._recovering:  # free a dead worker's calls before claiming
                await self._find_dead(free_leases=True)
            try:
                free = self.settings.recorder_max_calls - len(self.calls)
                if free > 0:
                    async with self.sessionmaker() as session:
                        claimed = await recordings.claim(
                            session, self.name, lease=self.lease, limit=free, busy=set(self.calls)
                        )
                        await session.commit()
                    for session_id in claimed:
                        self._spawn(session_id)
            except Exception:  # a database restart must not end the loop
                log.warning("recorder %s: claiming failed", self.name, exc_info=True)
            await self.recover_spools()  # their uploads, once their calls are claimed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)

    async def _renew_leases(self) -> None:
        """Every lease/4, on its own: renewals must not wait behind claiming, or behind the
        uploads of a dead worker's spool (seconds to the store), or the lease runs out
        while the call is recorded and the call is taken over from a live recorder."""
        interval = self.settings.recorder_lease_seconds / 4
        while True:
            await asyncio.sleep(interval)
            recording = list(self.calls)
            if not recording:
                continue
            try:
                async with self.sessionmaker() as session:
                    held = await recordings.renew(session, self.name, recording, lease=self.lease)
                    await session.commit()
            except Exception:  # a database restart must not end renewals
                log.warning("recorder %s: renewing failed", self.name, exc_info=True)
                continue
            # Only those asked about: a call claimed meanwhile was not in this renewal.
            for session_id in set(recording) - held:
                task = self.calls.get(session_id)
                if task is not None:
                    log.warning("call %d was taken over by another recorder", session_id)
                    task.cancel()

    def _spawn(self, session_id: int) -> None:
        call = CallRecorder(self, session_id)
        task = asyncio.create_task(call.run(), name=f"record-call-{session_id}")
        self.calls[session_id] = task
        task.add_done_callback(lambda _: self.calls.pop(session_id, None))


class CallRecorder:
    """Records one call: the recorder's socket, its legs, their uploads, then assembly."""

    def __init__(self, worker: RecorderWorker, session_id: int) -> None:
        self.worker = worker
        self.session_id = session_id
        self.directory = worker.spool.session_dir(session_id)
        settings = worker.settings
        self.recording = CallRecording(
            self.directory,
            settings=RecorderSettings(segment_seconds=settings.recorder_segment_seconds),
            configuration=lambda: rtc_configuration(settings),
        )
        self.uploads: dict[Path, LegUploads] = {}
        self.ended = asyncio.Event()
        self.client: socketio.AsyncClient | None = None
        self._tails: dict[int, asyncio.Task[None]] = {}
        self._hung_up = False
        self._join_task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        name = self.worker.name
        try:
            async with self.worker.sessionmaker() as session:
                call, recording = await recordings.call_state(session, self.session_id)
            if call == SessionState.ACTIVE and recording == RecordingState.RECORDING:
                try:
                    await self._connect()
                except (OSError, socketio.exceptions.ConnectionError):
                    # Signaling is down or restarting: give the call back, claim it again.
                    log.warning("call %d: signaling unreachable", self.session_id, exc_info=True)
                    await asyncio.sleep(RETRY_SECONDS)
                    await self._give_up()
                    return
                await self._record()
            await self._assemble()
        except asyncio.CancelledError:
            await asyncio.shield(self._give_up())
            raise
        except Exception as exc:
            log.exception("recording call %d failed", self.session_id)
            async with self.worker.sessionmaker() as session:
                await recordings.set_state(
                    session, name, self.session_id, RecordingState.FAILED, error=str(exc)[:500]
                )
                await session.commit()

    async def _record(self) -> None:
        loop = asyncio.get_running_loop()
        checked = loop.time()
        try:
            while not self.ended.is_set():
                try:
                    await asyncio.wait_for(self.ended.wait(), UPLOAD_SECONDS)
                except TimeoutError:
                    await self._upload(final=False)
                if loop.time() - checked >= STATE_CHECK_SECONDS:
                    # call_ended is missed while the recorder's socket reconnects.
                    checked = loop.time()
                    if not await self._still_active():
                        self.ended.set()
        finally:
            await self._hang_up()

    async def _still_active(self) -> bool:
        try:
            async with self.worker.sessionmaker() as session:
                call, _ = await recordings.call_state(session, self.session_id)
        except Exception:
            log.warning("call %d: state check failed", self.session_id, exc_info=True)
            return True
        return call == SessionState.ACTIVE

    async def _connect(self) -> None:
        settings = self.worker.settings
        client = socketio.AsyncClient(reconnection=True, ssl_verify=False, logger=False)
        self.client = client
        client.on("connect", self._joined, namespace=NAMESPACE)
        client.on("signal", self._on_signal, namespace=NAMESPACE)
        client.on("peer_left", self._on_peer_left, namespace=NAMESPACE)
        client.on("call_ended", self._on_call_ended, namespace=NAMESPACE)
        await client.connect(
            signaling_url(settings),
            namespaces=[NAMESPACE],
            transports=["websocket"],
            auth={"recorder": recorder_credential(settings.secret_key), "worker": self.worker.name},
            wait_timeout=ACK_SECONDS,
        )

    async def _joined(self) -> None:
        """Connected (again, after a signaling restart): take the recorder's seat."""
        self._join_task = asyncio.create_task(self._join())

    async def _join(self) -> None:
        """Take the recorder's seat; a call that admits nobody (ended, cancelled) is over."""
        assert self.client is not None
        while not self.ended.is_set():
            try:
                answer = await self.client.call(
                    "join_call",
                    {"session_id": self.session_id},
                    namespace=NAMESPACE,
                    timeout=ACK_SECONDS,
                )
            except Exception:
                log.warning("call %d: join_call got no answer", self.session_id, exc_info=True)
                answer = {}
            if answer.get("ok"):
                return
            code = (answer.get("error") or {}).get("code")
            if code in ("session_closed", "not_found"):
                log.info("call %d is over: the recorder leaves", self.session_id)
                self.ended.set()
                return
            if code == "already_joined":
                return
            log.warning("call %d: the recorder was not admitted: %s", self.session_id, answer)
            await asyncio.sleep(RETRY_SECONDS)

    async def _on_signal(self, data: dict[str, Any]) -> None:
        sender = data.get("from")
        if not isinstance(sender, int):
            return
        if "description" in data:
            self._in_order(sender, lambda: self._answer(sender, data["description"]))
        elif "candidate" in data:
            self._in_order(sender, lambda: self.recording.candidate(sender, data["candidate"]))

    def _in_order(self, participant: int, step: Callable[[], Awaitable[None]]) -> None:
        """Signals of one participant are applied in the order they came."""
        previous = self._tails.get(participant)

        async def run() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            try:
                await step()
            except SignalRejected as exc:
                log.warning("call %d, participant %d: %s", self.session_id, participant, exc)

        self._tails[participant] = asyncio.create_task(run())

    async def _answer(self, participant: int, description: dict[str, Any]) -> None:
        try:
            answer = await self.recording.offer(participant, description)
        except SignalRejected as exc:
            # The participant's page hears why; its earlier leg (if any) records on. The
            # note says why it has no file if no offer of its ever could be answered.
            reason = str(exc)[:500]
            await self._send(participant, {"error": {"code": "offer_refused", "message": reason}})
            try:
                await self.worker.store.put_bytes(
                    refusal_key(self.session_id, participant), reason.encode(), "text/plain"
                )
            except Exception:
                log.warning("call %d: noting a refused offer failed", self.session_id)
            raise
        await self._send(participant, {"description": answer})

    async def _send(self, participant: int, signal: dict[str, Any]) -> None:
        assert self.client is not None
        reply = await self.client.call(
            "send_signal",
            {"to": participant, **signal},
            namespace=NAMESPACE,
            timeout=ACK_SECONDS,
        )
        if not reply.get("ok"):
            log.warning("call %d: signal to %d refused: %s", self.session_id, participant, reply)

    async def _on_peer_left(self, data: dict[str, Any]) -> None:
        participant = data.get("participant_id")
        if isinstance(participant, int):
            self._in_order(participant, lambda: self.recording.hang_up(participant))

    async def _on_call_ended(self, data: Any = None) -> None:
        self.ended.set()

    async def _upload(self, *, final: bool) -> None:
        for leg in self.recording.legs():
            uploads = self.uploads.setdefault(leg, LegUploads(self.session_id, leg))
            try:
                await uploads.push(self.worker.store, final=final)
            except Exception:
                if final:
                    raise
                log.warning("uploading %s failed; retried shortly", leg, exc_info=True)

    async def _hang_up(self) -> None:
        """Leave the call, end every leg, upload everything, clear the spool (once)."""
        if self._hung_up:
            return
        self._hung_up = True
        tails = list(self._tails.values())
        await asyncio.gather(*tails, return_exceptions=True)
        if self.client is not None:
            await self.client.disconnect()
        await self.recording.close()
        await self._upload(final=True)
        await asyncio.to_thread(shutil.rmtree, self.directory, ignore_errors=True)

    async def _give_up(self) -> None:
        """Cancelled (the worker stops, or lost the lease): keep what was recorded."""
        try:
            await self._hang_up()
        except Exception:  # the spool stays for the next worker on this host
            log.exception("call %d: saving the recording on stop failed", self.session_id)
        async with self.worker.sessionmaker() as session:
            await recordings.release(session, self.worker.name, self.session_id)
            await session.commit()

    async def _assemble(self) -> None:
        name = self.worker.name
        async with self.worker.sessionmaker() as session:
            moved = await recordings.set_state(
                session, name, self.session_id, RecordingState.FINALIZING
            )
            await session.commit()
        if not moved:
            return  # taken over meanwhile
        # What a killed worker on this host was writing goes to the store first.
        await self.worker.recover_spools()
        async with self.worker.sessionmaker() as session:
            people = await recordings.recorded_participants(session, self.session_id)
        files, missing = await assemble(
            self.worker.store, self.session_id, self.worker.spool.directory, people
        )
        async with self.worker.sessionmaker() as session:
            await recordings.finished(session, name, self.session_id, files, missing)
            await session.commit()
        log.info(
            "call %d: %d recording file(s) ready, %d participant(s) without one",
            self.session_id,
            len(files),
            len(missing),
        )


async def run_worker(settings: Settings) -> None:
    """``loancheck recorder``: one worker until SIGTERM/SIGINT, then a clean hand-over."""
    from inspection_api.db import create_engine, create_sessionmaker
    from loancheck.resources import open_store

    engine = create_engine(settings.database_url)
    store = await open_store(settings)
    worker = RecorderWorker(settings, create_sessionmaker(engine), store)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await worker.start()
        print(
            f"LoanCheck recorder {worker.name}: signaling at {signaling_url(settings)}", flush=True
        )
        await stop.wait()
    finally:
        await worker.stop()
        await store.close()
        await engine.dispose()
