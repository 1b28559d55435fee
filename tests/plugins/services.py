"""Reachability of this machine's services, and a loud report of what was skipped."""

from __future__ import annotations

import os
import socket
from typing import Any

import pytest

STRICT = os.environ.get("LOANCHECK_TEST_STRICT") == "1"
_unavailable: dict[str, str] = {}


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or, under LOANCHECK_TEST_STRICT=1, fail) when ``host:port`` does not answer."""
    if name not in _unavailable:
        try:
            with socket.create_connection((host, port), timeout=2):
                return
        except OSError as exc:
            _unavailable[name] = f"{name} not reachable on {host}:{port} ({exc})"
    reason = _unavailable[name]
    if STRICT:
        pytest.fail(f"{reason}; LOANCHECK_TEST_STRICT=1 requires it", pytrace=False)
    pytest.skip(f"BACKEND SKIPPED: {reason}")


def require_executable(name: str, path: str) -> None:
    if os.access(path, os.X_OK):
        return
    reason = f"{name} not installed at {path}"
    _unavailable.setdefault(name, reason)
    if STRICT:
        pytest.fail(f"{reason}; LOANCHECK_TEST_STRICT=1 requires it", pytrace=False)
    pytest.skip(f"BACKEND SKIPPED: {reason}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _unavailable:
        terminalreporter.section("backends skipped", sep="!", red=True, bold=True)
        for reason in _unavailable.values():
            terminalreporter.write_line(f"SKIPPED: {reason}", red=True, bold=True)
