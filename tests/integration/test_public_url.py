"""Links follow the listener: ``PORT=… make run`` without LOANCHECK_PUBLIC_URL, as a real
``loancheck serve`` process on a fresh data dir, and every kind of link the platform hands
out (QR label, remote invite, 整改 link, 自检 link, evidence and recording URLs) answers 200."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from loancheck.settings import Settings
from tests.integration.inspection_kit import evidence_params, fix, jpeg, sha256
from tests.integration.test_checkpoints import ids_by_code
from tests.plugins.calls import CallKit
from tests.plugins.nodes import LOANCHECK, Node, free_port, stop, wait_until_ready
from tests.plugins.recording import RecorderFeed

WAIT = 30.0


def plain_env(data_dir: Path, port: int) -> dict[str, str]:
    """What ``PORT=… make run`` sees: no LOANCHECK_* at all, the port in plain ``PORT``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOANCHECK_")}
    env.update(PORT=str(port), LOANCHECK_DATA_DIR=str(data_dir))
    return env


def run(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [str(LOANCHECK), *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Node, dict[str, str]]]:
    port = free_port()
    env = plain_env(tmp_path / "data", port)
    run(env, "migrate")
    run(env, "seed-demo")
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(LOANCHECK), "serve"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    node = Node("serve", f"http://127.0.0.1:{port}", process, log)
    try:
        wait_until_ready(node)
        yield node, env
    finally:
        stop(node)


async def follow(url: str, base: str) -> bytes:
    """GET a link as a phone would (no cookie): it must be on the listener and answer 200."""
    assert url.startswith(base + "/"), (url, base)
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200, (url, response.status, await response.text())
        return await response.read()


async def test_every_link_points_at_the_port_the_server_listens_on(
    served: tuple[Node, dict[str, str]],
) -> None:
    node, env = served
    base = node.url
    assert f"on {base} " in node.output()  # what `make run` prints is where it listens
    settings = Settings.from_env(env)
    ids = await ids_by_code(settings)
    data_dir = Path(env["LOANCHECK_DATA_DIR"])
    calls = CallKit(passwords=json.loads((data_dir / "demo_credentials.json").read_text()))
    try:
        staff, _ = await calls.login(base, "inspector")

        async def post(path: str, body: dict[str, Any], **options: Any) -> Any:
            async with staff.post(path, json=body, **options) as response:
                assert response.status in (200, 201), await response.text()
                return await response.json()

        async with staff.get(f"/api/v1/checkpoints/{ids['CA-0001']}/qr") as response:
            label = (await response.json())["url"]
        await follow(label, base)  # the QR label a phone camera opens

        started = await post("/api/v1/inspections/on-site", {"qr": label, "fix": fix()})
        one = f"/api/v1/inspections/{started['inspection']['id']}"
        photo = jpeg(seed=7)
        async with staff.post(
            f"{one}/evidence",
            params=evidence_params("operating_status", photo),
            data=photo,
            headers={"Content-Type": "image/jpeg"},
        ) as response:
            assert response.status == 201, await response.text()
        async with staff.get(one) as response:
            evidence = (await response.json())["evidence"]
        assert sha256(await follow(evidence[0]["url"], base)) == sha256(photo)  # thumbnail

        rectify = await post(
            "/api/v1/rectifications",
            {"checkpoint_id": ids["CA-0001"], "text": "请补充仓库照片", "due_date": "2099-01-01"},
        )
        await follow(rectify["link"]["url"], base)
        self_check = await post(
            "/api/v1/inspections/self-check",
            {"checkpoint_id": ids["CA-0001"], "contact_name": "刘建国"},
        )
        await follow(self_check["url"], base)

        call = await calls.open_call(base)
        async with staff.post(
            f"/api/v1/remote-sessions/{call.session_id}/invites", json={"contact_name": "王会计"}
        ) as response:
            invite = await response.json()
        await follow(invite["url"], base)

        inspector, inspector_ack, contact, contact_ack = await calls.joined_pair(call)
        feeds = [RecorderFeed(inspector), RecorderFeed(contact)]
        try:
            feeds[0].start(inspector_ack)
            feeds[1].start(contact_ack)
            await asyncio.wait_for(asyncio.gather(*(f.answered.wait() for f in feeds)), WAIT)
            await asyncio.sleep(3)
            assert (await inspector.call("end_call"))["ok"] is True
        finally:
            for feed in feeds:
                await feed.stop()
        deadline = time.monotonic() + WAIT
        while True:
            async with call.staff.get(
                f"/api/v1/remote-sessions/{call.session_id}/recording"
            ) as response:
                recording = await response.json()
            if recording["state"] in ("ready", "failed") or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.3)
        assert recording["state"] == "ready", recording
        assert len(recording["files"]) == 2
        for file in recording["files"]:
            for key in ("url", "download_url", "poster_url"):
                await follow(file[key], base)  # what the replay page plays
    finally:
        await calls.close()
