"""Binary flood from a socket holding only an invite link: what the server keeps.

A fresh DATA_DIR (SQLite), ``migrate`` + ``seed-demo``; the app runs in this process on
loopback, so its Socket.IO state can be read. The inspector opens a session and invites a
contact over the REST API; the contact connects to ``/call`` with the invite (never joins)
and sends a binary-event header announcing 9,999,999,999 attachments, then 60,000-byte
attachments for SECONDS. Every 0.1 s the server's buffered attachment bytes are sampled.

``--unguarded`` runs python-socketio's own packet handling instead of ``GuardedServer``'s
(the behaviour before it), to show what it guards against. Prints the peak last.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import socketio
from aiohttp import web
from cold_start import environment, find_loancheck, free_port

from loancheck.app import create_app
from loancheck.settings import load_settings
from signaling.guard import GuardedServer
from signaling.server import CALL

SECONDS = 4.5
ATTACHMENT = b"\0" * 60_000
HEADER = '59999999999-/call,["send_signal",{"_placeholder":true,"num":0}]'


def buffered_bytes(server: Any) -> int:
    return sum(len(a) for p in server._binary_packet.values() for a in p.attachments)


async def flood(url: str, passwords: dict[str, str], server: Any) -> tuple[int, int, bool, float]:
    """(frames sent, peak bytes buffered by the server, socket closed by it, seconds)."""
    async with aiohttp.ClientSession(
        base_url=url, headers={"Origin": url}, cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as http:
        login = {"username": "inspector", "password": passwords["inspector"]}
        async with http.post("/api/v1/auth/login", json=login) as response:
            assert response.status == 200, await response.text()
        body = {"title": "压测", "enterprise_name": "压测企业"}
        async with http.post("/api/v1/remote-sessions", json=body) as response:
            assert response.status == 201, await response.text()
            session_id = (await response.json())["id"]
        invite_url = f"/api/v1/remote-sessions/{session_id}/invites"
        async with http.post(invite_url, json={"contact_name": "刘联系"}) as response:
            token = (await response.json())["token"]
    client = socketio.AsyncClient(reconnection=False)
    closed = asyncio.Event()
    client.on("disconnect", lambda *_: closed.set(), namespace="/call")
    await client.connect(
        url,
        headers={"Origin": url},
        auth={"invite": token, "device_id": "bench"},
        transports=["websocket"],
        namespaces=["/call"],
    )
    peak, sent = 0, 0
    started = time.monotonic()
    await client.eio.send(HEADER)
    sent += 1
    next_sample = started
    while time.monotonic() - started < SECONDS and not closed.is_set():
        await client.eio.send(ATTACHMENT)
        sent += 1
        if sent % 20 == 0:
            await asyncio.sleep(0)  # let the writer and the server run
        if time.monotonic() >= next_sample:
            peak = max(peak, buffered_bytes(server))
            next_sample += 0.1
    await asyncio.sleep(0.5)  # what was in flight arrives
    peak = max(peak, buffered_bytes(server))
    elapsed = time.monotonic() - started
    was_closed = closed.is_set()
    await client.disconnect()
    await client.shutdown()
    return sent, peak, was_closed, elapsed


async def run(data_dir: Path, passwords: dict[str, str], env: dict[str, str]) -> str:
    settings = load_settings(env)
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", int(env["LOANCHECK_PORT"]))
    await site.start()
    try:
        server = app[CALL].server
        sent, peak, closed, elapsed = await flood(settings.public_url, passwords, server)
    finally:
        await runner.cleanup()
    state = "closed by the server" if closed else "still open"
    return (
        f"{sent} frames ({sent * len(ATTACHMENT) / 1e6:.1f} MB) queued by the client in "
        f"{elapsed:.1f} s, socket {state}\n"
        f"peak attachment bytes buffered by the server: {peak:,} ({peak / 1e6:.1f} MB)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unguarded", action="store_true", help="python-socketio's own handling")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    if args.unguarded:
        GuardedServer._handle_eio_message = socketio.AsyncServer._handle_eio_message  # type: ignore[method-assign]
    loancheck = find_loancheck()
    data_dir = Path(tempfile.mkdtemp(prefix="loancheck-bench-flood-")) / "var"
    try:
        env = environment(data_dir, free_port())
        env["LOANCHECK_RECORDER"] = "workers"  # no recorder joins: the flood alone
        for command in ("migrate", "seed-demo"):
            subprocess.run([loancheck, command], env=env, capture_output=True, check=True)
        passwords = json.loads((data_dir / "demo_credentials.json").read_text())
        print(asyncio.run(run(data_dir, passwords, env)))
    finally:
        shutil.rmtree(data_dir.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
