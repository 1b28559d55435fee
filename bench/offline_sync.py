"""Offline sync throughput and resume, against a real ``loancheck serve`` on loopback.

Queues N offline inspections (default 200) with 3 × 1 MB photos each, as a phone's outbox
holds them (each photo's SHA-256 taken at capture), then syncs them the way the web client
does: each photo by tus, sent with its creation (creation-with-upload: one request, its
capture-time SHA-256 as metadata and as the chunk's Upload-Checksum), and the inspections
in batches of 20 on ``POST /api/v1/offline/sync``, each batch as soon as its photos are up
while the next photos go up (one sync call at a time), the rest at the end. Side by side,
in the same run against the same server process, the same bytes go up as raw HTTP PUTs to
the local store's signed ``/objects/`` URLs: the baseline, which writes the file the same
way (temp file, fsync, rename) but has no login, no database row, no checksum and no sync
call. Both use the same number of parallel uploads (``--parallel``). ``--runs N`` repeats
the pair, every other time with the raw PUTs first. Then a 20 MiB upload is cut at half
and resumed (5 MiB chunks), counting the bytes sent twice.

Embedded defaults (SQLite, local store) in a throw-away DATA_DIR. Prints each run with the
load average and the server's CPU seconds on each side, then the median throughput ratio
last.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from inspection_api.tokens import derived_key
from storage.local import LocalObjectStore

PHOTO_BYTES = 1024 * 1024
PHOTOS = 3
CHUNK = 5 * 1024 * 1024
BATCH = 20
ITEMS = ("operating_status", "utilities", "tax_paid_ytd")
CA_0001 = (38.0503, 114.5219)
GOAL = 0.8
TUS = {"Tus-Resumable": "1.0.0"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def loancheck() -> str:
    return str(Path(sys.executable).with_name("loancheck"))


def environment(data_dir: Path, port: int) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LOANCHECK_")}
    environ.pop("PORT", None)
    environ.update(
        LOANCHECK_DATA_DIR=str(data_dir),
        LOANCHECK_HOST="127.0.0.1",
        LOANCHECK_PORT=str(port),
        LOANCHECK_PUBLIC_URL=f"http://127.0.0.1:{port}",
        LOANCHECK_LOG_LEVEL="WARNING",
        LOANCHECK_SECRET_KEY="bench-secret-" + "x" * 32,
    )
    return environ


def photo(seed: int) -> bytes:
    """1 MB that starts like a JPEG (the server checks the first bytes and the hash)."""
    return b"\xff\xd8\xff\xe0" + hashlib.shake_256(seed.to_bytes(8, "big")).digest(PHOTO_BYTES - 4)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def fix(at: datetime) -> dict[str, Any]:
    return {
        "latitude": CA_0001[0],
        "longitude": CA_0001[1],
        "accuracy": 8.0,
        "captured_at": iso(at - timedelta(seconds=2)),
    }


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


class Phone:
    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http = http
        self.base = base
        self.sent = 0

    async def create(
        self, data: bytes, client_uuid: str, *, with_body: bool = False, sha256: str = ""
    ) -> str:
        """With ``with_body`` a file of one chunk goes up with its creation (one request).
        ``sha256`` is the file's hash when the phone took it at capture (the outbox keeps
        it); a file of one chunk sends it as the chunk's checksum too."""
        sha256 = sha256 or hashlib.sha256(data).hexdigest()
        headers = {
            **TUS,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": metadata(
                client_uuid=client_uuid, sha256=sha256, filetype="image/jpeg"
            ),
        }
        body = None
        if with_body and len(data) <= CHUNK:
            digest = base64.b64encode(bytes.fromhex(sha256)).decode()
            headers["Content-Type"] = "application/offset+octet-stream"
            headers["Upload-Checksum"] = f"sha256 {digest}"
            body = data
            self.sent += len(data)
        async with self.http.post(
            self.base + "/api/v1/uploads", headers=headers, data=body
        ) as response:
            assert response.status in (200, 201), await response.text()
            return self.base + response.headers["Location"]

    async def offset(self, location: str) -> int:
        async with self.http.head(location, headers=TUS) as response:
            return int(response.headers["Upload-Offset"])

    async def send(self, location: str, data: bytes, offset: int = 0) -> int:
        while offset < len(data):
            body = data[offset : offset + CHUNK]
            digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
            headers = {
                **TUS,
                "Content-Type": "application/offset+octet-stream",
                "Upload-Offset": str(offset),
                "Upload-Checksum": f"sha256 {digest}",
            }
            self.sent += len(body)
            async with self.http.patch(location, data=body, headers=headers) as response:
                assert response.status == 204, await response.text()
                offset = int(response.headers["Upload-Offset"])
        return offset


async def login(http: aiohttp.ClientSession, base: str, password: str) -> None:
    body = {"username": "inspector", "password": password}
    async with http.post(base + "/api/v1/auth/login", json=body) as response:
        assert response.status == 200, await response.text()


async def label(http: aiohttp.ClientSession, base: str) -> str:
    async with http.get(base + "/api/v1/checkpoints", params={"q": "CA-0001"}) as response:
        checkpoint = (await response.json())["items"][0]
    async with http.get(f"{base}/api/v1/checkpoints/{checkpoint['id']}/qr") as response:
        return str((await response.json())["url"])


async def raw_baseline(base: str, data_dir: Path, files: list[bytes], parallel: int) -> float:
    """The same bytes as plain PUTs to signed object URLs of the same server."""
    secret = derived_key("bench-secret-" + "x" * 32, "loancheck object URLs")
    store = LocalObjectStore(data_dir / "objects", base_url=base, secret=secret)
    urls = [
        await store.presign_put(f"bench/raw/{n}.jpg", timedelta(hours=1), "image/jpeg")
        for n in range(len(files))
    ]
    limit = asyncio.Semaphore(parallel)
    async with aiohttp.ClientSession() as http:

        async def put(url: str, data: bytes) -> None:
            async with (
                limit,
                http.put(url, data=data, headers={"Content-Type": "image/jpeg"}) as response,
            ):
                assert response.status == 200, await response.text()

        began = time.perf_counter()
        await asyncio.gather(*(put(u, d) for u, d in zip(urls, files, strict=True)))
        return time.perf_counter() - began


async def offline_sync(base: str, password: str, count: int, parallel: int) -> tuple[float, int]:
    jar = aiohttp.CookieJar(unsafe=True)
    headers = {"Origin": base}
    async with aiohttp.ClientSession(cookie_jar=jar, headers=headers) as http:
        await login(http, base, password)
        qr = await label(http, base)
        phone = Phone(http, base)
        started = datetime.now(UTC) - timedelta(minutes=10)
        queue = []
        files = []
        for n in range(count):
            evidence = []
            for k in range(PHOTOS):
                data = photo(n * PHOTOS + k)
                files.append(data)
                captured = started + timedelta(seconds=5 + k)
                evidence.append(
                    {
                        "client_uuid": str(uuid.uuid4()),
                        "item_key": ITEMS[k],
                        "kind": "photo",
                        "sha256": hashlib.sha256(data).hexdigest(),
                        "captured_at": iso(captured),
                        "fix": fix(captured),
                        "data": data,
                    }
                )
            queue.append(
                {
                    "client_uuid": str(uuid.uuid4()),
                    "qr": qr,
                    "scan_fix": fix(started),
                    "started_at": iso(started),
                    "answers": {"operating_status": "正常"},
                    "evidence": evidence,
                }
            )
        limit = asyncio.Semaphore(parallel)

        async def upload(capture: dict[str, Any]) -> None:
            async with limit:
                data = capture.pop("data")
                location = await phone.create(
                    data, capture["client_uuid"], with_body=True, sha256=capture["sha256"]
                )
                capture["upload_id"] = location.rsplit("/", 1)[1]

        sync_calls = 0

        async def sync(batch: list[dict[str, Any]]) -> None:
            nonlocal sync_calls
            sync_calls += 1
            body = {"sent_at": iso(datetime.now(UTC)), "device_id": "bench", "inspections": batch}
            async with http.post(base + "/api/v1/offline/sync", json=body) as response:
                assert response.status == 200, await response.text()
                for result in (await response.json())["results"]:
                    assert result["status"] == "saved", result
                    assert all(c["status"] == "attached" for c in result["evidence"])

        # As the outbox (outbox.js) does: inspections are ready when their photos are up; a
        # full batch of them is synced at once, while the next inspections' photos go up
        # (one sync call at a time, besides the ``parallel`` uploads), the rest when all
        # uploads are done. Smaller batches sent sooner cost more server CPU per inspection
        # (one call and one commit each) and were slower on a busy machine.
        ready: list[dict[str, Any]] = []
        calls: list[asyncio.Task[None]] = []

        async def drain(least: int) -> None:
            while len(ready) >= least and ready:
                batch = ready[:BATCH]
                del ready[:BATCH]
                await sync(batch)

        def kick(least: int) -> None:
            if not calls or calls[-1].done():
                calls.append(asyncio.create_task(drain(least)))

        async def upload_all(item: dict[str, Any]) -> None:
            await asyncio.gather(*(upload(c) for c in item["evidence"]))
            ready.append(item)
            if len(ready) >= BATCH:
                kick(BATCH)

        began = time.perf_counter()
        await asyncio.gather(*(upload_all(item) for item in queue))
        uploaded = time.perf_counter()
        while ready or (calls and not calls[-1].done()):
            kick(1)
            await calls[-1]
        await asyncio.gather(*calls)  # any failed call fails the run
        done = time.perf_counter()
        print(
            f"  uploads {uploaded - began:.2f} s, then the last sync calls "
            f"{done - uploaded:.2f} s ({sync_calls} sync calls)"
        )
        return done - began, sum(len(f) for f in files)


async def resume(base: str, password: str) -> tuple[int, int]:
    """A 20 MiB upload cut in the middle of its third chunk, then resumed."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar, headers={"Origin": base}) as http:
        await login(http, base, password)
        phone = Phone(http, base)
        data = b"\xff\xd8\xff\xe0" + os.urandom(20 * 1024 * 1024 - 4)
        location = await phone.create(data, str(uuid.uuid4()))
        await phone.send(location, data[: 2 * CHUNK])  # two chunks acknowledged
        # The third chunk: half of it goes out, then the connection drops.
        _reader, writer = await asyncio.open_connection("127.0.0.1", int(base.rsplit(":", 1)[1]))
        cookie = "; ".join(f"{c.key}={c.value}" for c in jar)
        body = data[2 * CHUNK : 3 * CHUNK]
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        path = location[len(base) :]
        writer.write(
            (
                f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n"
                "Content-Type: application/offset+octet-stream\r\n"
                f"Upload-Offset: {2 * CHUNK}\r\nUpload-Checksum: sha256 {digest}\r\n"
                f"Origin: {base}\r\nCookie: {cookie}\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body[: len(body) // 2]
        )
        await writer.drain()
        phone.sent += len(body) // 2
        writer.transport.abort()
        await asyncio.sleep(0.5)
        offset = await phone.offset(location)
        await phone.send(location, data, offset)
        return phone.sent - len(data), offset


class ServerCpu:
    """CPU seconds (user + system, all threads) the server spent in each phase: on a shared
    machine the wall-clock times move with the neighbours' load, the work per phase less."""

    def __init__(self, pid: int) -> None:
        self.stat = Path(f"/proc/{pid}/stat")
        self.seconds: dict[str, float] = {}

    def _now(self) -> float:
        fields = self.stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        began = self._now()
        yield
        self.seconds[name] = self._now() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inspections", type=int, default=200)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument(
        "--runs", type=int, default=1, help="side-by-side runs; every other one raw first"
    )
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-offline-"))
    port = free_port()
    env = environment(data_dir, port)
    base = f"http://127.0.0.1:{port}"
    server = None
    try:
        subprocess.run([loancheck(), "migrate"], env=env, check=True, capture_output=True)
        subprocess.run([loancheck(), "seed-demo"], env=env, check=True, capture_output=True)
        password = json.loads((data_dir / "demo_credentials.json").read_text())["inspector"]
        server = subprocess.Popen([loancheck(), "serve"], env=env)
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        files = [photo(n) for n in range(args.inspections * PHOTOS)]
        size = sum(len(f) for f in files)
        mb = size / 1024 / 1024
        ratios = []
        cpu_ratios = []
        print(f"inspections: {args.inspections} × {PHOTOS} × 1 MB, {args.parallel} in parallel")
        for run in range(args.runs):
            # Alternating which goes first, so neither always gets the warmer (or the
            # quieter) machine.
            raw_first = run % 2 == 1
            cpu = ServerCpu(server.pid)
            if raw_first:
                with cpu.phase("raw"):
                    raw_seconds = asyncio.run(raw_baseline(base, data_dir, files, args.parallel))
            with cpu.phase("sync"):
                tus_seconds, _ = asyncio.run(
                    offline_sync(base, password, args.inspections, args.parallel)
                )
            if not raw_first:
                with cpu.phase("raw"):
                    raw_seconds = asyncio.run(raw_baseline(base, data_dir, files, args.parallel))
            ratio = raw_seconds / tus_seconds
            ratios.append(ratio)
            print(
                f"run {run + 1} ({'raw' if raw_first else 'sync'} first), "
                f"load {os.getloadavg()[0]:.1f}: "
                f"offline sync (tus + sync) {tus_seconds:.2f} s, {mb / tus_seconds:.1f} MB/s; "
                f"raw HTTP PUT {raw_seconds:.2f} s, {mb / raw_seconds:.1f} MB/s; "
                f"ratio {ratio:.2f}"
            )
            cpu_ratios.append(cpu.seconds["raw"] / cpu.seconds["sync"])
            print(
                f"  server CPU: offline sync {cpu.seconds['sync']:.2f} s, "
                f"raw PUT {cpu.seconds['raw']:.2f} s "
                f"(ratio {cpu.seconds['raw'] / cpu.seconds['sync']:.2f})"
            )
        resent, resumed_at = asyncio.run(resume(base, password))
        print(f"resume: cut at 50 %, resumed from byte {resumed_at}; bytes re-sent {resent}")
        print(f"        (one chunk = {CHUNK}; within one chunk: {resent <= CHUNK})")
        print(
            f"server CPU seconds, raw upload / offline sync (median of {args.runs}): "
            f"{statistics.median(cpu_ratios):.2f}"
        )
        ratio = statistics.median(ratios)
        print(
            f"throughput offline sync / raw upload (median of {args.runs}): "
            f"{ratio:.2f} (goal ≥ {GOAL})"
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
