"""Takeover gap: the media a recording misses when the worker recording a call is killed
with ``kill -9`` while another worker runs beside it (loopback only).

A real ``loancheck serve`` (``LOANCHECK_RECORDER=workers``) and two ``loancheck recorder``
processes on this host. Each run: two aiortc participants send to the recorder as the call
pages do; after a few seconds the worker holding the call is killed; the other takes it
over and the participants offer again. Per participant, the gap is the time between the
end of what the killed worker's last segment holds (read back with PyAV: what it had
flushed) and the start of the new leg (manifest times, the recorder's clock). Also printed:
kill → the new recorder's answer at the participant. The killed worker is replaced for the
next run. Prints each run, then the figure last.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import av
from cold_start import environment, find_loancheck, free_port, healthz_ok, stop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' call helpers

from sqlalchemy import select

from inspection_api.db import create_engine, create_sessionmaker
from inspection_api.recordings.models import Recording
from loancheck.resources import open_store
from loancheck.settings import Settings
from tests.plugins.calls import CallKit
from tests.plugins.recording import RecorderFeed

RUNS = 6
GOAL = 3.0  # seconds
BEFORE_KILL = 4.0  # seconds recorded before the kill (inside the first 10 s segment)
AFTER_TAKEOVER = 3.0
WAIT = 60.0
START_TIMEOUT = 30.0


class Workers:
    """``loancheck recorder`` processes, by the name each printed."""

    def __init__(self, loancheck: str, env: dict[str, str], logs: Path) -> None:
        self.loancheck, self.env, self.logs = loancheck, env, logs
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        log = self.logs / f"recorder-{len(list(self.logs.glob('recorder-*')))}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [self.loancheck, "recorder"], env=self.env, stdout=sink, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT
        while "LoanCheck recorder " not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"takeover_gap: a recorder did not start:\n{log.read_text()}")
            time.sleep(0.1)
        line = next(x for x in log.read_text().splitlines() if x.startswith("LoanCheck recorder"))
        self.processes[line.split()[2].rstrip(":")] = process

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        process.kill()  # SIGKILL: no clean-up at all
        process.wait()

    def stop(self) -> None:
        for process in self.processes.values():
            stop(process)


async def holder_of(settings: Settings, session_id: int) -> str:
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            deadline = time.monotonic() + WAIT
            while True:
                worker = await session.scalar(
                    select(Recording.worker).where(Recording.session_id == session_id)
                )
                if worker or time.monotonic() > deadline:
                    assert worker, "nobody holds the call"
                    return worker
                await asyncio.sleep(0.2)
    finally:
        await engine.dispose()


async def answered(*feeds: RecorderFeed) -> None:
    await asyncio.wait_for(asyncio.gather(*(f.answered.wait() for f in feeds)), WAIT)


def flushed_end(path: Path, start: float) -> float:
    """The recorder time up to which a (maybe cut) segment file plays."""
    last = 0.0
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.pts is not None and packet.time_base is not None:
                last = max(last, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    return start + last


async def media_gaps(settings: Settings, session_id: int, workdir: Path) -> list[float]:
    """Per participant: the start of its second leg minus the end of its first."""
    store = await open_store(settings)
    try:
        prefix = f"recordings/{session_id}/participant-"
        keys = [o.key for o in await store.list(prefix)]
        gaps = []
        for participant in sorted({k.split("/")[2] for k in keys}):
            legs = sorted({k.split("/")[3] for k in keys if f"/{participant}/leg-" in k})
            assert len(legs) == 2, (participant, legs)
            manifests = []
            for leg in legs:
                key = f"recordings/{session_id}/{participant}/{leg}/manifest.json"
                manifests.append(json.loads(await store.get_bytes(key)))
            last = manifests[0]["segments"][-1]
            path = workdir / f"{session_id}-{participant}-{last['file']}"
            await store.download(
                f"recordings/{session_id}/{participant}/{legs[0]}/{last['file']}", path
            )
            end = await asyncio.to_thread(flushed_end, path, last["start"])
            gaps.append(manifests[1]["segments"][0]["start"] - end)
        return gaps
    finally:
        await store.close()


async def recording_ready(staff: aiohttp.ClientSession, session_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT
    while True:
        async with staff.get(f"/api/v1/remote-sessions/{session_id}/recording") as response:
            body = await response.json()
        if body["state"] in ("ready", "failed") or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.3)


async def one_run(
    kit: CallKit, url: str, settings: Settings, workers: Workers, workdir: Path
) -> tuple[float, list[float]]:
    call = await kit.open_call(url)
    inspector, inspector_ack, contact, contact_ack = await kit.joined_pair(call)
    feeds = [RecorderFeed(inspector), RecorderFeed(contact)]
    try:
        feeds[0].start(inspector_ack)
        feeds[1].start(contact_ack)
        await answered(*feeds)
        await asyncio.sleep(BEFORE_KILL)
        holder = await holder_of(settings, call.session_id)
        for feed in feeds:
            feed.answered.clear()
        workers.kill(holder)
        killed = time.perf_counter()
        await answered(*feeds)
        answered_after = time.perf_counter() - killed
        await asyncio.sleep(AFTER_TAKEOVER)
        assert (await inspector.call("end_call"))["ok"]
    finally:
        for feed in feeds:
            await feed.stop()
        for client in (inspector, contact):
            await client.close()
    recording = await recording_ready(call.staff, call.session_id)
    assert recording["state"] == "ready", recording
    gaps = await media_gaps(settings, call.session_id, workdir)
    await asyncio.to_thread(workers.start)  # two workers again for the next run
    return answered_after, gaps


async def measure(
    url: str,
    passwords: dict[str, str],
    settings: Settings,
    workers: Workers,
    runs: int,
    workdir: Path,
) -> list[float]:
    kit = CallKit(passwords=passwords)
    gaps: list[float] = []
    try:
        for run in range(1, runs + 1):
            answered_after, run_gaps = await one_run(kit, url, settings, workers, workdir)
            gaps.extend(run_gaps)
            print(
                f"run {run}: answered by the new worker {answered_after:.2f} s after the kill; "
                f"media gap per participant {', '.join(f'{g:.2f} s' for g in run_gaps)}",
                flush=True,
            )
    finally:
        await kit.close()
    return gaps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--loancheck", help="console script to run (default: the installed one)")
    args = parser.parse_args()
    loancheck = args.loancheck or find_loancheck()

    with tempfile.TemporaryDirectory(prefix="loancheck-takeover-") as tmp:
        data_dir = Path(tmp) / "var"
        port = free_port()
        env = environment(data_dir, port)
        env.update(
            LOANCHECK_RECORDER="workers",
            LOANCHECK_RECORDER_SIGNALING_URL=f"http://127.0.0.1:{port}",
        )
        for command in ("migrate", "seed-demo"):
            subprocess.run([loancheck, command], env=env, capture_output=True, check=True)
        passwords = json.loads((data_dir / "demo_credentials.json").read_text())
        settings = Settings.from_env(env)
        log_path = Path(tmp) / "serve.log"
        with log_path.open("wb") as log:
            server = subprocess.Popen(
                [loancheck, "serve"], env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        workers = Workers(loancheck, env, Path(tmp))
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not healthz_ok(port):
                if server.poll() is not None or time.monotonic() > deadline:
                    print(log_path.read_text(errors="replace")[-4000:], file=sys.stderr)
                    raise SystemExit("takeover_gap: loancheck serve did not start")
                time.sleep(0.1)
            workers.start()
            workers.start()
            workdir = Path(tmp) / "segments"
            os.makedirs(workdir)
            gaps = asyncio.run(
                measure(
                    f"http://127.0.0.1:{port}", passwords, settings, workers, args.runs, workdir
                )
            )
        finally:
            workers.stop()
            stop(server)

    print(
        f"takeover gap after kill -9 (media missing from the recording, per participant): "
        f"median {statistics.median(gaps):.2f} s, max {max(gaps):.2f} s over {args.runs} runs "
        f"(goal ≤ {GOAL:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
