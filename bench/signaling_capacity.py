"""Signaling capacity of one ``loancheck serve`` process: /call clients held, and relay
latency of ``send_signal`` between them — in memory and through Redis, side by side.

For each backend: a fresh DATA_DIR (SQLite), ``migrate`` + ``seed-demo``, one ``serve``
subprocess on loopback. N/2 sessions with one invite each are opened over the REST API;
N python-socketio clients connect to /call and join (the inspector by session cookie, the
contact by invite), two per call. Then ``send_signal`` runs between the pairs at a fixed
aggregate rate (alternating direction) and the time from emit to ``signal`` is measured in
this process; a short ramp finds the highest rate that still meets the goal. Clients that
cannot connect or join are counted and the first error is shown. Prints the figure last.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import socketio
from cold_start import environment, find_loancheck, free_port, stop

CLIENTS = 2000
RATE = 200  # relayed messages per second, all pairs together
DURATION = 10.0
WARMUP = 1.0
RAMP = (400, 800, 1200, 1600, 2400, 3200)
RAMP_SECONDS = 4.0
GOAL_CLIENTS = 2000
GOAL_P99_MS = 50.0
CONNECT_CONCURRENCY = 40
START_TIMEOUT = 30.0
REDIS_URL = os.environ.get("LOANCHECK_BENCH_REDIS", "redis://127.0.0.1:6379/0")
SECRET = "bench-signaling-" + "z" * 32


@dataclass
class Stats:
    sent: int = 0
    latencies: list[float] = field(default_factory=list)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0

    @property
    def lost(self) -> int:
        return self.sent - len(self.latencies)

    def meets_goal(self) -> bool:
        return self.lost == 0 and self.percentile(0.99) < GOAL_P99_MS


@dataclass
class Result:
    backend: str
    wanted: int
    joined: int = 0
    failure: str = ""
    connect_seconds: float = 0.0
    steady: Stats = field(default_factory=Stats)
    best_rate: int = 0
    ramp: list[tuple[int, Stats]] = field(default_factory=list)


class Meter:
    """Send times by message number; receivers record the latency."""

    def __init__(self) -> None:
        self.sent_at: dict[int, float] = {}
        self.stats = Stats()
        self.sending = True
        self.drained = asyncio.Event()

    def on_signal(self, data: dict[str, Any]) -> None:
        number = int(data["candidate"]["usernameFragment"])
        sent = self.sent_at.pop(number, None)
        if sent is not None:
            self.stats.latencies.append(time.perf_counter() - sent)
        if not self.sending and not self.sent_at:
            self.drained.set()


class Client:
    def __init__(self, http: aiohttp.ClientSession, meter: Meter) -> None:
        self.sio = socketio.AsyncClient(reconnection=False, http_session=http)
        self.participant_id = 0
        self.meter = meter
        self.sio.on("signal", self._on_signal, namespace="/call")

    def _on_signal(self, data: dict[str, Any]) -> None:
        self.meter.on_signal(data)

    async def join(self, url: str, headers: dict[str, str], auth: Any, data: Any) -> None:
        await self.sio.connect(
            url,
            headers=headers,
            auth=auth,
            transports=["websocket"],
            namespaces=["/call"],
            wait_timeout=20,
        )
        ack = await self.sio.call("join_call", data, namespace="/call", timeout=30)
        if not ack.get("ok"):
            raise RuntimeError(f"join_call refused: {ack['error']}")
        self.participant_id = ack["participant_id"]


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"signaling: loancheck serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"signaling: loancheck serve not ready within {START_TIMEOUT:.0f} s")


async def open_calls(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str], count: int
) -> list[tuple[int, str]]:
    """``count`` sessions with one invite each, through the REST API: (session id, token)."""
    gate = asyncio.Semaphore(8)

    async def one(i: int) -> tuple[int, str]:
        async with gate:
            body = {"title": f"压测 {i}", "enterprise_name": f"企业 {i}"}
            path = f"{url}/api/v1/remote-sessions"
            async with http.post(path, json=body, headers=headers) as response:
                session_id = (await response.json())["id"]
            invite = {"contact_name": f"联系人{i}"}
            path = f"{path}/{session_id}/invites"
            async with http.post(path, json=invite, headers=headers) as response:
                return session_id, (await response.json())["token"]

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def relay(pairs: list[tuple[Client, Client]], rate: int, seconds: float) -> Stats:
    """Emit ``send_signal`` at ``rate`` per second for ``seconds``; wait for stragglers."""
    meter = Meter()
    for staff, contact in pairs:
        staff.meter = contact.meter = meter
    loop = asyncio.get_running_loop()
    start = loop.time()
    for number in range(int(rate * seconds)):
        delay = start + number / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        staff, contact = pairs[number % len(pairs)]
        sender, receiver = (staff, contact) if number % 2 == 0 else (contact, staff)
        candidate = {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0"}
        candidate["usernameFragment"] = str(number)
        meter.sent_at[number] = time.perf_counter()
        meter.stats.sent += 1
        data = {"to": receiver.participant_id, "candidate": candidate}
        await sender.sio.emit("send_signal", data, namespace="/call")
    meter.sending = False
    if meter.sent_at:  # stragglers get 3 s, then count as lost
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(meter.drained.wait(), 3.0)
    return meter.stats


async def measure(url: str, passwords: dict[str, str], result: Result, rate: int) -> None:
    # The inspector's browser (its session cookie) and the phones (no cookies at all).
    staff_jar, phone_jar = aiohttp.CookieJar(unsafe=True), aiohttp.DummyCookieJar()
    async with (
        aiohttp.ClientSession(
            cookie_jar=staff_jar, connector=aiohttp.TCPConnector(limit=0)
        ) as http,
        aiohttp.ClientSession(
            cookie_jar=phone_jar, connector=aiohttp.TCPConnector(limit=0)
        ) as phones,
    ):
        body = {"username": "inspector", "password": passwords["inspector"]}
        async with http.post(f"{url}/api/v1/auth/login", json=body) as response:
            assert response.status == 200, await response.text()
        staff_headers = {"Origin": url}
        calls = await open_calls(http, url, staff_headers, result.wanted // 2)
        idle = Meter()
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        clients: list[Client] = []

        async def pair(i: int, session_id: int, token: str) -> tuple[Client, Client] | None:
            async with gate:
                if result.failure:
                    return None
                staff, contact = Client(http, idle), Client(phones, idle)
                clients.extend((staff, contact))
                try:
                    await staff.join(
                        url, staff_headers, None, {"session_id": session_id, "device_id": "pc"}
                    )
                    result.joined += 1
                    await contact.join(
                        url, {"Origin": url}, {"invite": token, "device_id": f"d{i}"}, {}
                    )
                    result.joined += 1
                except Exception as exc:
                    result.failure = result.failure or f"{type(exc).__name__}: {exc}"
                    return None
                return staff, contact

        started = time.perf_counter()
        joined = await asyncio.gather(*(pair(i, s, t) for i, (s, t) in enumerate(calls)))
        result.connect_seconds = time.perf_counter() - started
        pairs = [p for p in joined if p is not None]
        try:
            if pairs:
                await relay(pairs, rate, WARMUP)  # first publishes open connections: not timed
                result.steady = await relay(pairs, rate, DURATION)
                for ramp_rate in RAMP:
                    stats = await relay(pairs, ramp_rate, RAMP_SECONDS)
                    result.ramp.append((ramp_rate, stats))
                    if not stats.meets_goal():
                        break
                    result.best_rate = ramp_rate
                if result.steady.meets_goal():
                    result.best_rate = max(result.best_rate, rate)
        finally:
            await asyncio.gather(*(c.sio.disconnect() for c in clients), return_exceptions=True)


def run_backend(loancheck: str, backend: str, clients: int, rate: int) -> Result:
    result = Result(backend, clients)
    with tempfile.TemporaryDirectory(prefix="loancheck-bench-signaling-") as tmp:
        data_dir = Path(tmp) / "var"
        port = free_port()
        env = environment(data_dir, port)
        env["LOANCHECK_SECRET_KEY"] = SECRET
        if backend == "redis":
            env["LOANCHECK_REDIS_URL"] = REDIS_URL
        for command in ("migrate", "seed-demo"):
            subprocess.run([loancheck, command], env=env, capture_output=True, check=True)
        passwords = json.loads((data_dir / "demo_credentials.json").read_text())
        log_path = Path(tmp) / "serve.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [loancheck, "serve"], env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_ready(url, process)
            asyncio.run(measure(url, passwords, result, rate))
        finally:
            stop(process)
        errors = [
            line for line in log_path.read_text(errors="replace").splitlines() if "ERROR" in line
        ]
        if errors:
            print(f"  [{backend}] server logged {len(errors)} error(s), first: {errors[0][:300]}")
    return result


def report(result: Result, rate: int) -> str:
    s = result.steady
    line = (
        f"{result.backend:<9} clients {result.joined}/{result.wanted} "
        f"(joined in {result.connect_seconds:.1f} s) · relay @{rate}/s: "
        f"p50 {s.percentile(0.5):.1f} ms, p99 {s.percentile(0.99):.1f} ms, "
        f"lost {s.lost}/{s.sent} · best rate meeting p99 < {GOAL_P99_MS:.0f} ms: "
        f"{result.best_rate}/s"
    )
    return line + (f" · broke at: {result.failure}" if result.failure else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--rate", type=int, default=RATE)
    parser.add_argument("--backend", choices=["memory", "redis"], action="append")
    parser.add_argument("--loancheck", help="console script to run (default: the installed one)")
    args = parser.parse_args()
    loancheck = args.loancheck or find_loancheck()
    results = []
    for backend in args.backend or ["memory", "redis"]:
        print(f"== {backend}: {args.clients} clients", flush=True)
        result = run_backend(loancheck, backend, args.clients, args.rate)
        for ramp_rate, stats in result.ramp:
            print(
                f"  ramp {ramp_rate}/s: p50 {stats.percentile(0.5):.1f} ms, "
                f"p99 {stats.percentile(0.99):.1f} ms, lost {stats.lost}/{stats.sent}"
            )
        print("  " + report(result, args.rate), flush=True)
        results.append(result)
    print(
        f"signaling (goal {GOAL_CLIENTS} clients, relay p99 < {GOAL_P99_MS:.0f} ms): "
        + " | ".join(report(r, args.rate) for r in results)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
