"""Two real ``loancheck serve`` processes sharing one PostgreSQL database and one Redis:
the ``nodes`` fixture for multi-node tests."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from loancheck.settings import Settings
from tests.conftest import REDIS_URL, pg_execute, truncate_all_statement
from tests.plugins.services import require_service

LOANCHECK = Path(sys.executable).with_name("loancheck")
SECRET = "two-nodes-secret-" + "y" * 32
START_TIMEOUT = 30.0
WAIT = 5.0


@dataclass
class Node:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def node_env(
    database_url: str, data_dir: Path, objects: Path, port: int, channel: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOANCHECK_")}
    env.update(
        LOANCHECK_HOST="127.0.0.1",
        LOANCHECK_PORT=str(port),
        LOANCHECK_PUBLIC_URL=f"http://127.0.0.1:{port}",
        LOANCHECK_DATA_DIR=str(data_dir),
        LOANCHECK_DATABASE_URL=database_url,
        LOANCHECK_REDIS_URL=REDIS_URL,
        LOANCHECK_REDIS_CHANNEL=channel,  # both nodes, and no other test's
        LOANCHECK_OBJECT_STORE=objects.resolve().as_uri(),
        LOANCHECK_SECRET_KEY=SECRET,
        LOANCHECK_LOG_LEVEL="INFO",
        # No recorder: these tests are about two-party signaling (recording has its own).
        LOANCHECK_RECORDER="workers",
    )
    return env


def wait_until_ready(node: Node) -> None:
    import urllib.request

    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if node.process.poll() is not None:
            pytest.fail(f"{node.name} exited with {node.process.returncode}:\n{node.output()}")
        try:
            with urllib.request.urlopen(f"{node.url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{node.name} not ready after {START_TIMEOUT:.0f} s:\n{node.output()}")


def stop(node: Node) -> None:
    if node.process.poll() is None:
        node.process.terminate()
        try:
            node.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait(timeout=5)


@pytest.fixture
def nodes(pg_database_url: str, tmp_path: Path) -> Iterator[tuple[Node, Node, Settings]]:
    require_service("redis", "127.0.0.1", 6379)
    if not LOANCHECK.exists():
        pytest.fail(f"console script missing: {LOANCHECK} (pip install -e .)")
    asyncio.run(pg_execute(pg_database_url, truncate_all_statement()))
    objects = tmp_path / "objects"
    objects.mkdir()
    channel = f"loancheck-test-{uuid.uuid4().hex[:12]}"
    started: list[Node] = []
    try:
        for name in ("node1", "node2"):
            port = free_port()
            data_dir = tmp_path / name
            data_dir.mkdir()
            log = tmp_path / f"{name}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [str(LOANCHECK), "serve"],
                    env=node_env(pg_database_url, data_dir, objects, port, channel),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            started.append(Node(name, f"http://127.0.0.1:{port}", process, log))
        for node in started:
            wait_until_ready(node)
        settings = Settings.from_env(
            node_env(pg_database_url, tmp_path / "node1", objects, free_port(), channel)
        )
        yield started[0], started[1], settings
    finally:
        for node in started:
            stop(node)
