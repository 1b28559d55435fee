"""The province completion report, this tree's code against an earlier commit's, alternately.

On a shared, loaded machine two runs minutes apart do not compare: the load moves. This
runs the report (per 分行 and per 支行, last year) with the service and repository of a git
revision (``--against``; the rest of the code is this tree's) and with this
tree's, one call of each in turn, on a database ``bench/supervision.py --keep`` loaded
(``--reuse``), checks both return the same figures, and prints wall p50/p95 and CPU per call
(this process + the database backend) of each; the last line has the province report's.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from inspection_api.auth.principal import Principal, Role
from inspection_api.db import create_engine, create_sessionmaker
from inspection_api.plans.generator import local_date
from inspection_api.supervision import repository, service
from inspection_api.supervision.window import parse_period

sys.path.insert(0, str(Path(__file__).resolve().parent))
from supervision import PG_ADMIN_URL, server_cpu

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "inspection_api/supervision"


def _module(name: str, source: str, folder: Path) -> ModuleType:
    path = folder / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def earlier(revision: str, folder: Path) -> tuple[ModuleType, ModuleType]:
    """That revision's repository and service, importing each other (not this tree's)."""

    def show(name: str) -> str:
        return subprocess.run(
            ["git", "show", f"{revision}:{PACKAGE}/{name}.py"],
            cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip

    repo = _module("earlier_repository", show("repository"), folder)
    text = show("service").replace(
        "from inspection_api.supervision import repository as repo",
        "import earlier_repository as repo",
    )
    text = text.replace(
        "from inspection_api.supervision.repository import", "from earlier_repository import"
    )
    return repo, _module("earlier_service", text, folder)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", metavar="DATABASE", required=True)
    parser.add_argument("--against", required=True, help="git revision to compare with")
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()

    engine = create_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{args.reuse}")
    sessions = create_sessionmaker(engine)
    admin = Principal(0, "bench", 1, "/1/", frozenset({Role.SYSTEM_ADMIN}))
    today = local_date(datetime.now(UTC))
    last_year = parse_period(str(today.year - 1))
    with tempfile.TemporaryDirectory() as folder:
        old_repo, old_service = earlier(args.against, Path(folder))
        versions = {args.against: (old_repo, old_service), "this tree": (repository, service)}

        async def report(version: str, group_by: str, session: Any) -> Any:
            repo, svc = versions[version]
            result = await svc.completion_report(
                session, admin, org_id=1, window=last_year, group_by=repo.GroupBy(group_by),
                filters=repo.Filters(), today=today,
            )  # fmt: skip
            return [(g.id, g.name, vars(c)) for g, c in result.rows], vars(result.total)

        last = ""
        for group_by, label in (("child", "per 分行"), ("sub_branch", "per 支行")):
            answers = []
            for version in versions:
                async with sessions() as session:
                    answers.append(await report(version, group_by, session))  # warm
            assert answers[0] == answers[1], "the two versions' figures differ"
            samples: dict[str, list[float]] = {v: [] for v in versions}
            cpu = dict.fromkeys(versions, 0.0)
            for _ in range(args.runs):
                for version in versions:
                    async with sessions() as session:
                        server = await server_cpu(session)
                        client = time.process_time()
                        started = time.perf_counter()
                        await report(version, group_by, session)
                        samples[version].append((time.perf_counter() - started) * 1000)
                        cpu[version] += time.process_time() - client
                        cpu[version] += await server_cpu(session) - server
            for version, wall in samples.items():
                wall.sort()
                p50, p95 = wall[len(wall) // 2], wall[int(0.95 * (len(wall) - 1))]
                line = (
                    f"province completion {label}, last year, {version}: p50 {p50:.0f} ms, "
                    f"p95 {p95:.0f} ms, CPU {cpu[version] / args.runs * 1000:.0f} ms/call"
                )
                print(line, flush=True)
                if group_by == "child":
                    last = line
    print(f"load average while measuring: {os.getloadavg()[0]:.1f}")
    await engine.dispose()
    print(f"same figures; {last} (goal p95 < 200)")


if __name__ == "__main__":
    asyncio.run(main())
