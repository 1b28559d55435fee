"""Schemathesis fuzzes every operation of the OpenAPI document against a real server on a
port (embedded backend, the demo bank), as the system administrator and as an inspector,
with data that fits the schema and data that does not. The gates: no 5xx, and every 4xx
(asked in zh-CN, the default) reads as plain Chinese (problem_text.py, issue #12.5).

Bounded and deterministic (``derandomize``): ``FUZZ_EXAMPLES`` cases per operation and mode,
the two users taking turns. ``LOANCHECK_FUZZ_EXAMPLES=40`` fuzzes longer by hand (14.5 min here).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable

from inspection_api.demo import seed_demo
from loancheck.app import create_app
from loancheck.settings import Settings
from tests.integration.problem_text import problem_problems

FUZZ_EXAMPLES = int(os.environ.get("LOANCHECK_FUZZ_EXAMPLES", "4"))
USERS = ("admin", "inspector")


@dataclass
class LiveApi:
    base_url: str
    passwords: dict[str, str]


@pytest.fixture
def live_api(embedded_settings: Settings) -> Iterator[LiveApi]:
    """The app on a loopback port, served from its own event loop in a thread: schemathesis
    calls it synchronously (requests)."""
    # Fuzzed logins fail by the hundred from one address; the backoff would lock the two
    # users out of their own re-logins (tests/integration/test_auth.py covers it).
    settings = replace(embedded_settings, login_max_failures=1_000_000)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fuzzed-api", daemon=True)
    thread.start()

    async def start() -> tuple[web.AppRunner, LiveApi]:
        passwords = {user: password for user, password, _ in await seed_demo(settings)}
        runner = web.AppRunner(create_app(settings))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        return runner, LiveApi(f"http://127.0.0.1:{port}", passwords)

    runner, api = asyncio.run_coroutine_threadsafe(start(), loop).result(60)
    try:
        yield api
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@dataclass
class Caller:
    """One user's session; logs in again when a fuzzed call ended it (logout, password)."""

    api: LiveApi
    username: str
    session: requests.Session = field(default_factory=requests.Session)

    def login(self) -> bool:
        self.session.cookies.clear()
        response = self.session.post(
            f"{self.api.base_url}/api/v1/auth/login",
            json={"username": self.username, "password": self.api.passwords[self.username]},
            timeout=30,
        )
        return response.status_code == 200


# About 30 s of CPU; the machine's cores are shared, so its wall time may pass the suite's
# 120 s per test.
@pytest.mark.timeout(300)
def test_fuzzing_every_operation_finds_no_server_error(live_api: LiveApi) -> None:
    document = requests.get(f"{live_api.base_url}/api/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(document)
    callers = [Caller(live_api, username) for username in USERS]
    for caller in callers:
        assert caller.login(), caller.username
    errors: list[str] = []
    unreadable: dict[str, str] = {}  # by code and fault: one example each
    refusals = 0
    statuses: dict[str, Counter[int]] = defaultdict(Counter)  # by operation
    sent = 0
    unsatisfiable: list[str] = []

    def call(case: schemathesis.Case) -> None:
        nonlocal sent, refusals
        # The users take turns: each case is sent once, as one of them.
        caller = callers[sent % len(callers)]
        sent += 1
        response = case.call(base_url=live_api.base_url, session=caller.session, timeout=30)
        statuses[case.operation.label][response.status_code] += 1
        if response.status_code >= 500:
            errors.append(
                f"{response.status_code} as {caller.username}: {case.as_curl_command()}\n"
                f"  {response.text[:300]}"
            )
        elif response.status_code == 401:
            caller.login()
        if 400 <= response.status_code < 500 and case.method != "HEAD":
            refusals += 1
            try:
                body = response.json()
            except ValueError:
                body = response.text
            for fault in problem_problems(body):
                code = body.get("code") if isinstance(body, dict) else response.status_code
                key = f"{code}: {fault.split(' in ', 1)[0]}"
                unreadable.setdefault(key, f"{fault}\n  {case.as_curl_command()}")

    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            fuzz = given(case=operation.as_strategy(generation_mode=mode))(call)
            try:
                hypothesis_settings(
                    max_examples=FUZZ_EXAMPLES,
                    derandomize=True,
                    database=None,
                    deadline=None,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )(fuzz)()
            except Unsatisfiable:
                # Nothing to get wrong: no input but a free-form token in the path (join
                # links), or none at all (the tus capabilities, OPTIONS /uploads).
                assert mode == schemathesis.GenerationMode.NEGATIVE, operation.label
                unsatisfiable.append(operation.label)

    documented = [f"{m.upper()} {path}" for path, ops in document["paths"].items() for m in ops]
    assert sorted(statuses) == sorted(documented), "every operation fuzzed"
    # Protected operations ran as a user, not only as someone logged out.
    assert [label for label, seen in statuses.items() if set(seen) == {401}] == []

    def free_form(label: str) -> bool:
        method, path = label.split(" ", 1)
        spec = document["paths"][path][method.lower()]
        return "requestBody" not in spec and all(
            p["in"] == "path" and p["schema"].get("type") == "string"
            for p in spec.get("parameters", [])
        )

    assert [label for label in unsatisfiable if not free_form(label)] == []
    assert not errors, "\n".join(errors)
    assert refusals > 500, refusals  # the negative cases were refused, and read
    assert not unreadable, "\n".join(unreadable.values())
