"""The installed ``loancheck`` console script: one line and exit 2 on bad configuration."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

LOANCHECK = Path(sys.executable).with_name("loancheck")


def run_loancheck(data_dir: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """Run the console script with this environment less any LOANCHECK_*/PORT, plus
    ``variables`` and a throw-away DATA_DIR."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LOANCHECK_")}
    environ.pop("PORT", None)
    environ.update(LOANCHECK_DATA_DIR=str(data_dir), **variables)
    return subprocess.run(
        [str(LOANCHECK), *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("command", "variables", "variable"),
    [
        ("migrate", {"LOANCHECK_PORT": "abc"}, "LOANCHECK_PORT"),
        ("serve", {"LOANCHECK_PORT": "70000"}, "LOANCHECK_PORT"),
        ("serve", {"LOANCHECK_DATABASE_URL": "mysql://x"}, "LOANCHECK_DATABASE_URL"),
        ("migrate", {"LOANCHECK_TURN_URLS": "turn:t.example:3478"}, "LOANCHECK_TURN_SECRET"),
    ],
)
def test_bad_configuration_is_one_line_and_exit_2(
    tmp_path: Path, command: str, variables: dict[str, str], variable: str
):
    result = run_loancheck(tmp_path, command, **variables)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"loancheck: invalid configuration: {variable}: ")
    assert result.stderr == lines[0] + "\n"
    # Nothing happened before the check: no database, no generated secret key.
    assert list(tmp_path.iterdir()) == []


def test_help_lists_the_commands(tmp_path: Path):
    # --help needs no configuration, so it works even while the environment is wrong.
    result = run_loancheck(tmp_path, "--help", LOANCHECK_PORT="abc")
    assert result.returncode == 0, result.stderr
    for command in ("serve", "migrate", "seed-demo", "create-user"):
        assert re.search(rf"^\s+{command}\s+\S", result.stdout, re.MULTILINE), command


def test_make_run_path_migrate_then_seed_demo_on_a_fresh_data_dir(tmp_path: Path):
    """What `make run` does before serving, as separate processes (each imports only what
    its command needs): the demo bank is seeded, twice without harm, and its logins are
    printed."""
    assert run_loancheck(tmp_path, "migrate").returncode == 0
    for _ in range(2):
        seeded = run_loancheck(tmp_path, "seed-demo")
        assert seeded.returncode == 0, seeded.stderr
    assert "admin" in seeded.stdout and (tmp_path / "demo_credentials.json").exists()
    created = run_loancheck(
        tmp_path,
        "create-user",
        "zhao",
        "--org",
        "HB-SJZ-CA",
        "--role",
        "inspector",
        LOANCHECK_NEW_PASSWORD="river-lantern-2026",
    )
    assert created.returncode == 0, created.stderr
