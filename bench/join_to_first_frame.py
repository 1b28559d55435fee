"""Join to first frame: from the contact's ``join_call`` to the first decoded remote video
frame, with two aiortc peers signaling through a real ``loancheck serve`` (loopback only).

Each run opens a session and an invite over the REST API; the inspector is in the call
already and offers when it hears ``peer_joined`` (the impolite side), the contact answers.
Timed per run: the inspector's first frame of the contact's camera (the figure) and the
contact's first frame of the inspector's. Both peers' tracks are running before the clock
starts, as a page with its camera open would be. Prints each run, then the medians last.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cold_start import environment, find_loancheck, free_port, healthz_ok, stop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' call helpers

from tests.plugins.calls import CallKit, MediaPeer

RUNS = 20
GOAL = 1.0  # seconds
FRAME_TIMEOUT = 20.0
START_TIMEOUT = 30.0


async def one_run(kit: CallKit, url: str, cookie: str) -> tuple[float, float]:
    call = await kit.open_call(url)
    inspector = await kit.staff_socket(url, cookie)
    ack = await inspector.call("join_call", {"session_id": call.session_id, "device_id": "pc"})
    assert ack["ok"], ack
    contact = await kit.contact_socket(url, call.token, "phone")
    inspector_peer, contact_peer = kit.peer(inspector), kit.peer(contact)

    async def offer_when_the_contact_arrives() -> None:
        joined = await inspector.next("peer_joined", FRAME_TIMEOUT)
        await inspector_peer.offer_to(joined["participant_id"])

    async def first_frame(peer: MediaPeer) -> float:
        await peer.frames("video", 1, FRAME_TIMEOUT)
        return time.perf_counter()

    offering = asyncio.create_task(offer_when_the_contact_arrives())
    started = time.perf_counter()
    joined = await contact.call("join_call")
    assert joined["ok"], joined
    seen_by_inspector, seen_by_contact = await asyncio.gather(
        first_frame(inspector_peer), first_frame(contact_peer)
    )
    await offering
    assert (await inspector.call("end_call"))["ok"]
    for peer in (inspector_peer, contact_peer):
        await peer.close()
    for client in (inspector, contact):
        await client.close()
    return seen_by_inspector - started, seen_by_contact - started


async def measure(url: str, passwords: dict[str, str], runs: int) -> list[tuple[float, float]]:
    kit = CallKit(passwords=passwords)
    try:
        _, cookie = await kit.login(url, "inspector")
        times = []
        for run in range(1, runs + 1):
            inspector_s, contact_s = await one_run(kit, url, cookie)
            times.append((inspector_s, contact_s))
            print(
                f"run {run}: inspector sees the site after {inspector_s:.3f} s, "
                f"contact sees the inspector after {contact_s:.3f} s",
                flush=True,
            )
        return times
    finally:
        await kit.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--loancheck", help="console script to run (default: the installed one)")
    args = parser.parse_args()
    loancheck = args.loancheck or find_loancheck()

    with tempfile.TemporaryDirectory(prefix="loancheck-first-frame-") as tmp:
        data_dir = Path(tmp) / "var"
        port = free_port()
        env = environment(data_dir, port)
        for command in ("migrate", "seed-demo"):
            subprocess.run([loancheck, command], env=env, capture_output=True, check=True)
        passwords = json.loads((data_dir / "demo_credentials.json").read_text())
        log_path = Path(tmp) / "serve.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [loancheck, "serve"], env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not healthz_ok(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    print(log_path.read_text(errors="replace")[-4000:], file=sys.stderr)
                    raise SystemExit("join_to_first_frame: loancheck serve did not start")
                time.sleep(0.1)
            times = asyncio.run(measure(f"http://127.0.0.1:{port}", passwords, args.runs))
        finally:
            stop(process)

    inspector = statistics.median(t[0] for t in times)
    contact = statistics.median(t[1] for t in times)
    print(
        f"join to first frame p50: {inspector:.3f} s inspector sees the site, "
        f"{contact:.3f} s contact sees the inspector (goal < {GOAL:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
