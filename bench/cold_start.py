"""Cold start of ``loancheck serve``: from spawning the process to the first 200 from /healthz.

Runs the installed console script on the embedded defaults in a throw-away DATA_DIR, on
loopback only. ``loancheck migrate`` runs once first and is not timed. Prints each run, then
the median last.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 5
POLL_INTERVAL = 0.02  # seconds between /healthz attempts
START_TIMEOUT = 30.0  # a start slower than this is a failure, not a figure
GOAL = 3.0


class StartFailed(Exception):
    pass


def find_loancheck() -> str:
    beside = Path(sys.executable).with_name("loancheck")
    if beside.exists():
        return str(beside)
    found = shutil.which("loancheck")
    if found is None:
        raise SystemExit("cold_start: the loancheck command is not installed (make install)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(data_dir: Path, port: int) -> dict[str, str]:
    """This environment without any LOANCHECK_* or PORT of the caller's: embedded defaults."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LOANCHECK_")}
    environ.pop("PORT", None)
    environ.update(
        LOANCHECK_DATA_DIR=str(data_dir),
        LOANCHECK_HOST="127.0.0.1",
        LOANCHECK_PORT=str(port),
        LOANCHECK_PUBLIC_URL=f"http://127.0.0.1:{port}",
        LOANCHECK_LOG_LEVEL="WARNING",
    )
    return environ


def healthz_ok(port: int) -> bool:
    # http.client rather than urllib: no proxy from the environment may take the request.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def time_start(loancheck: str, data_dir: Path, log_path: Path) -> float:
    """Seconds from spawning ``loancheck serve`` to its first 200 from /healthz."""
    port = free_port()
    with log_path.open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            [loancheck, "serve"],
            env=environment(data_dir, port),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            while True:
                if healthz_ok(port):
                    return time.perf_counter() - started
                if process.poll() is not None:
                    raise StartFailed(f"loancheck serve exited with {process.returncode}")
                if time.perf_counter() - started > START_TIMEOUT:
                    raise StartFailed(f"no 200 from /healthz within {START_TIMEOUT:.0f} s")
                time.sleep(POLL_INTERVAL)
        finally:
            stop(process)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--loancheck", help="console script to run (default: the installed one)")
    args = parser.parse_args()
    loancheck = args.loancheck or find_loancheck()

    with tempfile.TemporaryDirectory(prefix="loancheck-cold-start-") as tmp:
        data_dir = Path(tmp) / "var"
        migrate = subprocess.run(
            [loancheck, "migrate"],
            env=environment(data_dir, free_port()),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if migrate.returncode != 0:
            print(f"cold_start: loancheck migrate failed:\n{migrate.stderr}", file=sys.stderr)
            return 1

        times = []
        for run in range(1, args.runs + 1):
            log_path = Path(tmp) / f"serve-{run}.log"
            try:
                seconds = time_start(loancheck, data_dir, log_path)
            except StartFailed as exc:
                print(f"cold_start: run {run}: {exc}; its output:", file=sys.stderr)
                print(log_path.read_text(errors="replace")[-4000:], file=sys.stderr)
                return 1
            times.append(seconds)
            print(f"run {run}: {seconds:.2f} s")

    print(f"cold start p50: {statistics.median(times):.2f} s (goal < {GOAL:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
