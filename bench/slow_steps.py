"""Server time of the console's and phone pages' slow steps (issue #12 item 11), in Chromium
against a real ``loancheck serve`` on loopback.

Embedded defaults (SQLite, local store, in-process recorder) in a throw-away DATA_DIR, the
demo bank seeded, production argon2 (RFC 9106 low-memory profile: 64 MiB, t=3, p=4). Each
step is done in headless Chromium (Playwright, system executable) the way a user does it,
and every request the server answers for it is taken from the browser's own timing (the
API calls and the HTML of pages the server resolves, such as ``/join/{token}``; not static
files, not Socket.IO, not the replay's video bytes):

- login (inspector, admin): 登录 clicked → the console's landing section loaded;
- wrong password: 登录 with a wrong one → the error shown;
- 新建并进入: on 远程巡检 → the call page ``/remote/{id}`` with its checklist panel loaded;
- phone join lobby: the invite link opened on a phone → 加入视频 enabled;
- replay page: ``/replay/{id}`` of a recorded call → 可回放 with its files;
- plan save: 编辑 → 保存计划 (confirming when asked) → the plan list reloaded.

Per step: the server time (the sum of its requests' durations, request sent → response
ended), median and max over ``--runs``, the critical path (first request sent → last
response ended) and the requests on it, the step's own first request (登录, 新建并进入…)
apart from the rest (the page it leads to); then the waterfall of each step's median run.
The worst step's figure is printed last (goal < 0.5 s server time).

``--against OTHER`` starts a second server from another console script (an older commit's,
say) and does each run's steps on one server, then on the other, so that both are measured
under the same load of this shared machine; a side-by-side table ends the report.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from cold_start import environment, find_loancheck, free_port, healthz_ok, stop

RUNS = 10
GOAL = 0.5  # seconds of server time per step
START_TIMEOUT = 30.0
QUIET = 0.4  # seconds without a request in flight: the step is done
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
CHECKPOINT = "河北冀中纺织品有限公司 · 冀中纺织成品仓库（CA-0002）"
RECORD_SECONDS = 4


@dataclass
class Request:
    method: str
    path: str
    status: int
    start: float  # seconds, browser clock
    duration: float  # request sent → response ended


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the server process, all its threads, so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Step:
    requests: list[Request]
    cpu: float  # the server's CPU seconds while the step ran


@dataclass
class Capture:
    """The server's requests of one page between ``start`` and ``wait``, and its CPU."""

    page: Any
    server_pid: int
    requests: list[Request] = field(default_factory=list)
    cpu_at_start: float = 0.0
    in_flight: int = 0
    last_activity: float = 0.0
    on: bool = False

    def __post_init__(self) -> None:
        self.page.on("request", self._sent)
        self.page.on("requestfinished", self._finished)
        self.page.on("requestfailed", self._failed)

    @staticmethod
    def counts(request: Any) -> bool:
        path = urlsplit(request.url).path
        if path.startswith("/api/"):
            return True
        return request.resource_type == "document" and not path.startswith("/static/")

    def _sent(self, request: Any) -> None:
        if self.on and self.counts(request):
            self.in_flight += 1
            self.last_activity = time.monotonic()

    def _failed(self, request: Any) -> None:
        if self.on and self.counts(request):
            self.in_flight -= 1
            self.last_activity = time.monotonic()

    async def _finished(self, request: Any) -> None:
        if not (self.on and self.counts(request)):
            return
        try:
            timing = request.timing
            response = await request.response()
            sent = max(timing["requestStart"], 0.0)
            self.requests.append(
                Request(
                    method=request.method,
                    path=urlsplit(request.url).path,
                    status=response.status if response else 0,
                    start=(timing["startTime"] + sent) / 1000,
                    duration=max(timing["responseEnd"] - sent, 0.0) / 1000,
                )
            )
        finally:
            self.in_flight -= 1
            self.last_activity = time.monotonic()

    def start(self) -> None:
        self.requests = []
        self.in_flight = 0
        self.last_activity = time.monotonic()
        self.cpu_at_start = cpu_seconds(self.server_pid)
        self.on = True

    async def wait(self) -> Step:
        """Until no counted request has been in flight for ``QUIET`` seconds."""
        # Polled: "nothing for QUIET seconds" is no event to wait for.
        while self.in_flight > 0 or time.monotonic() - self.last_activity < QUIET:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        self.on = False
        cpu = cpu_seconds(self.server_pid) - self.cpu_at_start
        return Step(sorted(self.requests, key=lambda r: r.start), cpu)

    async def settle(self) -> None:
        """Let what the page is still loading finish, uncounted."""
        self.start()
        await self.wait()


def server_time(requests: list[Request]) -> float:
    return sum(r.duration for r in requests)


def critical_path(requests: list[Request]) -> float:
    if not requests:
        return 0.0
    return max(r.start + r.duration for r in requests) - min(r.start for r in requests)


def short(path: str) -> str:
    return re.sub(r"/join/[^/]+", "/join/{token}", re.sub(r"/invites/[^/]+$", "/invites/…", path))


class Bench:
    def __init__(self, browser: Any, url: str, passwords: dict[str, str], pid: int) -> None:
        self.browser = browser
        self.url = url
        self.passwords = passwords
        self.pid = pid
        self.results: dict[str, list[Step]] = {}

    def capture(self, page: Any) -> Capture:
        return Capture(page, self.pid)

    async def context(self, *, phone: bool = False) -> Any:
        if phone:
            options: dict[str, Any] = {"viewport": PHONE, "is_mobile": True, "has_touch": True}
        else:
            options = {"viewport": DESKTOP}
        context = await self.browser.new_context(
            locale="zh-CN", timezone_id="Asia/Shanghai", **options
        )
        context.set_default_timeout(30_000)
        return context

    def record(self, step: str, result: Step) -> None:
        self.results.setdefault(step, []).append(result)
        requests = result.requests
        print(
            f"  {step}: {server_time(requests):.3f} s server, "
            f"{critical_path(requests):.3f} s critical path, {len(requests)} requests, "
            f"server CPU {result.cpu:.2f} s",
            flush=True,
        )

    async def signed_in(self, username: str) -> tuple[Any, Any, Capture]:
        context = await self.context()
        page = await context.new_page()
        capture = self.capture(page)
        await page.goto(f"{self.url}/login")
        await page.get_by_label("用户名").fill(username)
        await page.get_by_label("密码").fill(self.passwords[username])
        await page.get_by_role("button", name="登录").click()
        await page.wait_for_url(re.compile(r"/console#"))
        return context, page, capture

    async def login(self, username: str) -> None:
        context = await self.context()
        try:
            page = await context.new_page()
            capture = self.capture(page)
            await page.goto(f"{self.url}/login")
            await page.get_by_label("用户名").fill(username)
            await page.get_by_label("密码").fill(self.passwords[username])
            await capture.settle()  # the login page's own /auth/me (401) is not the step
            capture.start()
            await page.get_by_role("button", name="登录").click()
            await page.wait_for_url(re.compile(r"/console#"))
            self.record(f"login ({username})", await capture.wait())
        finally:
            await context.close()

    async def wrong_password(self, username: str) -> None:
        context = await self.context()
        try:
            page = await context.new_page()
            capture = self.capture(page)
            await page.goto(f"{self.url}/login")
            await page.get_by_label("用户名").fill(username)
            await page.get_by_label("密码").fill("Wrong-password-42")
            await capture.settle()
            capture.start()
            await page.get_by_role("button", name="登录").click()
            await page.locator("#login-error").get_by_text("用户名或密码错误").wait_for()
            self.record("wrong password", await capture.wait())
            # A good login ends the account's failure streak (the backoff stays per IP).
            await page.get_by_label("密码").fill(self.passwords[username])
            await page.get_by_role("button", name="登录").click()
            await page.wait_for_url(re.compile(r"/console#"))
        finally:
            await context.close()

    async def create_and_enter(self, page: Any, capture: Capture) -> int:
        await page.goto(f"{self.url}/console#/remote")
        await page.get_by_label("被检查企业（检查点）").select_option(label=CHECKPOINT)
        await page.get_by_label("巡检事项").fill("远程巡检基准")
        await capture.settle()
        capture.start()
        await page.get_by_role("button", name="新建并进入").click()
        await page.wait_for_url(re.compile(r"/remote/\d+$"))
        await page.get_by_test_id("remote-checklist").get_by_role("button").first.wait_for()
        self.record("新建并进入", await capture.wait())
        return int(page.url.rsplit("/", 1)[1])

    async def invite(self, http: aiohttp.ClientSession, session_id: int) -> str:
        async with http.post(
            f"{self.url}/api/v1/remote-sessions/{session_id}/invites",
            json={"contact_name": "赵会计", "expires_in_minutes": 60},
            headers={"Origin": self.url},
        ) as response:
            assert response.status == 201, await response.text()
            return str((await response.json())["url"])

    async def join_lobby(self, invite_url: str) -> None:
        context = await self.context(phone=True)
        try:
            page = await context.new_page()
            capture = self.capture(page)
            capture.start()
            await page.goto(invite_url)
            await (
                page.get_by_role("button", name="加入视频")
                .and_(page.locator(":enabled"))
                .wait_for()
            )
            self.record("phone join lobby", await capture.wait())
        finally:
            await context.close()

    async def replay(self, page: Any, capture: Capture, session_id: int) -> None:
        capture.start()
        await page.goto(f"{self.url}/replay/{session_id}")
        await page.get_by_test_id("recording-state").get_by_text("可回放").wait_for()
        self.record("replay page", await capture.wait())

    async def plan_save(self, page: Any, capture: Capture) -> None:
        await page.goto(f"{self.url}/console#/plans")
        await page.get_by_role("button", name="编辑").first.click()
        dialog = page.get_by_role("dialog")
        capture.start()
        await capture.settle()
        capture.start()
        await dialog.get_by_role("button", name="保存计划").click()
        confirm = page.get_by_role("button", name="确认保存")
        saved = page.get_by_text(re.compile("已保存检查计划"))
        await confirm.or_(saved).first.wait_for()
        if await confirm.is_visible():
            await confirm.click()
        await saved.wait_for()
        self.record("plan save", await capture.wait())

    async def recorded_call(self) -> int:
        """A browser call recorded for ``RECORD_SECONDS``, ended, its recording ready."""
        pc_context, pc, capture = await self.signed_in("inspector")
        phone_context = await self.context(phone=True)
        try:
            session_id = await self.create_and_enter(pc, capture)
            self.results.clear()
            await pc.get_by_label("联系人姓名").fill("赵会计")
            await pc.get_by_role("button", name="生成邀请链接").click()
            await pc.wait_for_function(
                "() => document.getElementById('invite-url').value.includes('/join/')"
            )
            invite_url = await pc.locator("#invite-url").input_value()
            await pc.get_by_role("button", name="开始通话").click()
            phone = await phone_context.new_page()
            await phone.goto(invite_url)
            await phone.get_by_role("button", name="加入视频").tap()
            for page in (pc, phone):
                await page.wait_for_function(
                    "() => ((window.loancheckCall || {}).peers || []).some(p => p.kind === "
                    "'recorder' && p.connectionState === 'connected')",
                    timeout=60_000,
                )
            await pc.wait_for_timeout(RECORD_SECONDS * 1000)
            await pc.get_by_role("button", name="结束通话").click()
            await (
                pc.get_by_role("dialog", name="结束通话")
                .get_by_role("button", name="结束通话")
                .click()
            )
            await pc.locator("#session-state").get_by_text("已结束").wait_for()
            await pc.goto(f"{self.url}/replay/{session_id}")
            await (
                pc.get_by_test_id("recording-state").get_by_text("可回放").wait_for(timeout=120_000)
            )
            return session_id
        finally:
            await phone_context.close()
            await pc_context.close()


async def prepare(browser: Any, url: str, passwords: dict[str, str], pid: int) -> Prepared:
    bench = Bench(browser, url, passwords, pid)
    print(f"recording a call for the replay page ({url})…", flush=True)
    recorded = await bench.recorded_call()
    signed_in = {name: await bench.signed_in(name) for name in ("inspector", "reviewer", "admin")}
    cookies = await signed_in["inspector"][0].cookies()
    http = aiohttp.ClientSession(cookies={c["name"]: c["value"] for c in cookies})
    return Prepared(bench, recorded, signed_in, http)


@dataclass
class Prepared:
    bench: Bench
    recorded: int
    signed_in: dict[str, tuple[Any, Any, Capture]]
    http: aiohttp.ClientSession

    async def run(self) -> None:
        bench = self.bench
        _, inspector, inspector_capture = self.signed_in["inspector"]
        _, reviewer, reviewer_capture = self.signed_in["reviewer"]
        _, admin, admin_capture = self.signed_in["admin"]
        await bench.login("inspector")
        await bench.login("admin")
        await bench.wrong_password("handler")
        session_id = await bench.create_and_enter(inspector, inspector_capture)
        await bench.join_lobby(await bench.invite(self.http, session_id))
        await bench.replay(reviewer, reviewer_capture, self.recorded)
        await bench.plan_save(admin, admin_capture)

    async def close(self) -> None:
        await self.http.close()
        for context, _, _ in self.signed_in.values():
            await context.close()


async def measure(
    servers: list[tuple[str, int]], passwords: list[dict[str, str]], runs: int
) -> list[dict[str, list[Step]]]:
    """Each run does every step on each server in turn (side by side: the same load)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        prepared: list[Prepared] = []
        try:
            for (url, pid), secrets in zip(servers, passwords, strict=True):
                prepared.append(await prepare(browser, url, secrets, pid))
            for run in range(1, runs + 1):
                for index, side in enumerate(prepared):
                    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
                    name = f" {SIDES[index]}" if len(prepared) > 1 else ""
                    print(f"run {run}{name} (load average {load})", flush=True)
                    await side.run()
            return [side.bench.results for side in prepared]
        finally:
            for side in prepared:
                await side.close()
            await browser.close()


def padded(step: str) -> str:
    """``step`` in 18 columns of a terminal (a Chinese character takes two)."""
    return step + " " * (18 - len(step) - sum(1 for c in step if ord(c) > 0x2E80))


def report(results: dict[str, list[Step]]) -> tuple[str, float, float]:
    print()
    print(
        f"{'step':<18} {'server p50':>10} {'max':>7} {'path p50':>9} {'CPU p50':>8} "
        f"{'max':>6} {'requests':>8} {'first p50':>9} {'rest p50':>8}"
    )
    worst = ("", 0.0, 0.0)
    for step, runs in results.items():
        times = [server_time(r.requests) for r in runs]
        median, top = statistics.median(times), max(times)
        path = statistics.median(critical_path(r.requests) for r in runs)
        cpu = [r.cpu for r in runs]
        count = statistics.median(len(r.requests) for r in runs)
        # The step's own request (登录, 新建并进入…) apart from the page it leads to.
        first = statistics.median(r.requests[0].duration if r.requests else 0.0 for r in runs)
        rest = statistics.median(server_time(r.requests[1:]) for r in runs)
        name = padded(step)
        print(
            f"{name} {median:>9.3f}s {top:>6.3f}s {path:>8.3f}s {statistics.median(cpu):>7.2f}s "
            f"{max(cpu):>5.2f}s {count:>8.0f} {first:>8.3f}s {rest:>7.3f}s"
        )
        if median > worst[1]:
            worst = (step, median, top)
    for step, runs in results.items():
        ordered = sorted(runs, key=lambda r: server_time(r.requests))
        median_run = ordered[len(ordered) // 2].requests
        print(f"\n{step}: waterfall of the median run (start, duration)")
        first = min((r.start for r in median_run), default=0.0)
        for r in median_run:
            offset = (r.start - first) * 1000
            bar = " " * int(offset / 20) + "#" * max(1, int(r.duration * 1000 / 20))
            print(
                f"  {offset:6.0f} ms {r.duration * 1000:6.0f} ms  {r.status} {r.method:<6} "
                f"{short(r.path):<40} {bar}"
            )
    return worst


SIDES = ("this tree", "against")


@contextlib.contextmanager
def served(loancheck: str, tmp: Path) -> Iterator[tuple[str, int, dict[str, str]]]:
    """A migrated, seeded ``loancheck serve`` in ``tmp``: its URL, pid and demo passwords."""
    data_dir = tmp / "var"
    port = free_port()
    env = environment(data_dir, port)
    for command in ("migrate", "seed-demo"):
        subprocess.run([loancheck, command], env=env, capture_output=True, check=True)
    passwords = json.loads((data_dir / "demo_credentials.json").read_text())
    log_path = tmp / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [loancheck, "serve"], env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not healthz_ok(port):
            if process.poll() is not None or time.monotonic() > deadline:
                print(log_path.read_text(errors="replace")[-4000:], file=sys.stderr)
                raise SystemExit("slow_steps: loancheck serve did not start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", process.pid, passwords
    finally:
        stop(process)
        errors = [
            line
            for line in log_path.read_text(errors="replace").splitlines()
            if "Traceback" in line or " 500 " in line
        ]
        if errors:
            print(f"serve log: {len(errors)} error lines, first: {errors[0]}", file=sys.stderr)


def side_by_side(results: list[dict[str, list[Step]]], labels: list[str]) -> None:
    print(
        "\nside by side, server time p50 (max), after the step's first request p50 / CPU p50: "
        + "  |  ".join(labels)
    )
    for step in results[0]:
        cells = []
        for result in results:
            runs = result.get(step, [])
            times = [server_time(r.requests) for r in runs]
            cpu = statistics.median(r.cpu for r in runs) if runs else 0.0
            rest = statistics.median(server_time(r.requests[1:]) for r in runs) if runs else 0.0
            cells.append(
                f"{statistics.median(times):.3f} s ({max(times):.3f}), after the first "
                f"{rest:.3f} s / {cpu:.2f} s"
                if times
                else "—"
            )
        print(f"  {padded(step)} {'  |  '.join(cells)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--loancheck", help="console script to run (default: the installed one)")
    parser.add_argument(
        "--against",
        metavar="LOANCHECK",
        help="a second console script (e.g. an older commit's) measured alternately with the "
        "first, run by run, so both see the same load",
    )
    args = parser.parse_args()
    scripts = [args.loancheck or find_loancheck()] + ([args.against] if args.against else [])

    with contextlib.ExitStack() as stack:
        servers, passwords = [], []
        for index, script in enumerate(scripts):
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="slow-steps-")))
            url, pid, secrets = stack.enter_context(served(script, tmp))
            print(f"{SIDES[index]}: {script} at {url}", flush=True)
            servers.append((url, pid))
            passwords.append(secrets)
        results = asyncio.run(measure(servers, passwords, args.runs))

    worst = []
    for index, result in enumerate(results):
        if len(results) > 1:
            print(f"\n=== {SIDES[index]}: {scripts[index]}")
        worst.append(report(result))
    if len(results) > 1:
        side_by_side(results, list(SIDES[: len(results)]))
    step, median, top = worst[0]
    print(
        f"\nworst step: {step}, server time p50 {median:.3f} s, max {top:.3f} s "
        f"over {args.runs} runs (goal < {GOAL} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
