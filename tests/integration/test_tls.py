"""`loancheck serve` over https: a generated self-signed certificate for LAN trials, and
clear start-up errors for a bad certificate configuration."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

LOANCHECK = str(Path(sys.executable).parent / "loancheck")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def env_for(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOANCHECK_")}
    env.update({"LOANCHECK_DATA_DIR": str(data_dir), "LOANCHECK_LOG_LEVEL": "WARNING", **extra})
    return env


async def test_self_signed_https_serves_with_a_verifiable_certificate(tmp_path: Path):
    port = free_port()
    env = env_for(
        tmp_path,
        LOANCHECK_PORT=str(port),
        LOANCHECK_PUBLIC_URL=f"https://127.0.0.1:{port}",
        LOANCHECK_TLS_SELF_SIGNED="true",
    )
    migrate = await asyncio.create_subprocess_exec(LOANCHECK, "migrate", env=env)
    assert await migrate.wait() == 0
    server = await asyncio.create_subprocess_exec(
        LOANCHECK, "serve", env=env, stderr=asyncio.subprocess.PIPE
    )
    cert = tmp_path / "tls" / "cert.pem"
    try:
        body = None
        async with aiohttp.ClientSession() as http:
            for _ in range(150):
                assert server.returncode is None, "serve exited early"
                if cert.exists():
                    trust = ssl.create_default_context(cafile=str(cert))
                    try:
                        async with http.get(f"https://127.0.0.1:{port}/healthz", ssl=trust) as r:
                            body = await r.json()
                            break
                    except aiohttp.ClientConnectorError:
                        pass  # generated, not yet listening
                await asyncio.sleep(0.1)
            assert body == {"status": "ok"}
            # Plain http on the https port is not served.
            with pytest.raises(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                    await r.read()
        assert (tmp_path / "tls" / "key.pem").stat().st_mode & 0o777 == 0o600
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 15)


@pytest.mark.parametrize(
    ("extra", "variable"),
    [
        (
            {"LOANCHECK_TLS_CERT": "/nonexistent/cert.pem", "LOANCHECK_TLS_KEY": "/nonexistent/k"},
            "LOANCHECK_TLS_CERT",
        ),
        ({"LOANCHECK_TLS_CERT": "/etc/hostname"}, "LOANCHECK_TLS_KEY"),
    ],
    ids=["missing-file", "cert-without-key"],
)
def test_bad_tls_configuration_stops_serve_with_one_line(tmp_path: Path, extra, variable):
    env = env_for(tmp_path, **extra)
    if "LOANCHECK_TLS_KEY" in extra:
        subprocess.run(
            [LOANCHECK, "migrate"], env=env_for(tmp_path), check=True, capture_output=True
        )
    result = subprocess.run(
        [LOANCHECK, "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], result.stderr
