"""Task generation for a provincial bank, and the "due/overdue for my org" query.

A province with 14 二级分行 and 229 支行, 10,000 checkpoints spread over the 支行, and one
monthly province-wide plan that began eleven months ago: one generator run creates a year
of monthly tasks (120,000, most of them overdue). Measured on SQLite (a throw-away file) and
on PostgreSQL (a throw-away database on 127.0.0.1:5432, user postgres, as the tests make
it): the seconds of the first run (goal < 5 s) and of a second run that finds nothing to do,
then the p50/p95 of an inspector's list of open tasks in their 支行 (page of 50, overdue
first, with the total; goal < 50 ms). ``--runs N`` measures both databases N times, in
turns, on fresh databases (the machine is shared: each round prints the load average);
prints each figure; the last line has the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

from inspection_api.auth.principal import Role
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.db import create_engine, create_sessionmaker, utcnow
from inspection_api.migrate import upgrade
from inspection_api.orgs.models import Org, OrgKind
from inspection_api.plans import repository
from inspection_api.plans.generator import (
    ExitUnit,
    Frequency,
    MonthRule,
    ValidityUnit,
    add_months,
    local_date,
)
from inspection_api.plans.models import InspectionType, Plan, PlanRule
from inspection_api.plans.sync import sync_tasks

BRANCHES = 14
SUB_BRANCHES = 229
GOAL_SECONDS = 5.0
GOAL_QUERY_MS = 50.0
# first run s, re-run s, query p50 ms, p95 ms, first run CPU s (all), of which the server
Figures = tuple[float, float, float, float, float, float]
PG_ADMIN_URL = os.environ.get(
    "LOANCHECK_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


async def build_bank(url: str, checkpoints: int) -> list[str]:
    """Orgs, checkpoints and the plan; returns the 支行 paths."""
    engine = create_engine(url)
    now = utcnow()
    today = local_date(now)
    async with create_sessionmaker(engine)() as session:
        province = Org(name="河北省分行", code="HB", kind=OrgKind.PROVINCE, path="/1/")
        session.add(province)
        await session.flush()
        province.path = f"/{province.id}/"
        subs: list[Org] = []
        for b in range(BRANCHES):
            branch = Org(
                name=f"分行{b + 1}", code=f"B{b}", kind=OrgKind.BRANCH, parent_id=province.id
            )
            branch.path = f"{province.path}b{b}/"
            session.add(branch)
            await session.flush()
            branch.path = f"{province.path}{branch.id}/"
            count = SUB_BRANCHES // BRANCHES + (1 if b < SUB_BRANCHES % BRANCHES else 0)
            for s in range(count):
                sub = Org(
                    name=f"支行{b + 1}-{s + 1}",
                    code=f"B{b}-S{s}",
                    kind=OrgKind.SUB_BRANCH,
                    parent_id=branch.id,
                    path=f"{branch.path}s{s}/",
                )
                session.add(sub)
                subs.append(sub)
            await session.flush()
            for sub in subs[-count:]:
                sub.path = f"{branch.path}{sub.id}/"
        await session.flush()
        created = now - timedelta(days=800)
        rows = [
            {
                "org_id": subs[i % len(subs)].id,
                "name": f"检查点{i}",
                "code": f"CP{i:06d}",
                "customer_name": f"企业{i}",
                "address": "",
                "contact_name": "",
                "contact_phone": "",
                "exit_note": "",
                "qr_generation": 1,
                "created_at": created,
                "updated_at": created,
            }
            for i in range(checkpoints)
        ]
        for first in range(0, len(rows), 5000):
            await session.execute(insert(Checkpoint), rows[first : first + 5000])
        start = add_months(today.replace(day=1), -11)
        rule = PlanRule(
            org_id=province.id,
            name="支行月度检查",
            org_kind=OrgKind.SUB_BRANCH,
            auto_join=True,
            frequency=Frequency.MONTH,
            interval=1,
            inspection_type=InspectionType.EXISTING,
            validity=1,
            validity_unit=ValidityUnit.MONTH,
            start_date=start,
            end_date=None,
            exit_rule=MonthRule.THIS_MONTH,
            exit_interval=3,
            exit_unit=ExitUnit.MONTH,
            exit_count=2,
            first_rule=MonthRule.NEXT_MONTH,
        )
        session.add(rule)
        await session.flush()
        session.add(
            Plan(
                rule_id=rule.id,
                org_id=province.id,
                name="全省支行月度检查",
                start_date=start,
                end_date=None,
                executor_role=Role.INSPECTOR,
                auto_created=False,
            )
        )
        await session.commit()
        paths = [sub.path for sub in subs]
    await engine.dispose()
    return paths


async def server_cpu(session: Any) -> float:
    """CPU seconds used so far by this session's PostgreSQL backend (same machine, read
    from /proc; 0 on SQLite, which runs inside this process). Wall time on a busy shared
    machine says little; CPU time says what the work costs."""
    if session.get_bind().dialect.name != "postgresql":
        return 0.0
    pid = await session.scalar(text("SELECT pg_backend_pid()"))
    try:
        stat = await asyncio.to_thread(Path(f"/proc/{pid}/stat").read_text)
        fields = stat.rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(url: str, checkpoints: int, queries: int) -> Figures:
    """(first run s, second run s, query p50 ms, query p95 ms) on one database."""
    await asyncio.to_thread(upgrade, url)
    paths = await build_bank(url, checkpoints)
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    today = local_date(utcnow())
    try:
        runs, cpus = [], []
        for _ in range(2):
            started = time.perf_counter()
            cpu = time.process_time()
            async with sessions() as session:
                server = await server_cpu(session)
                result = await sync_tasks(session, today=today)
                await session.commit()
                server = await server_cpu(session) - server
            runs.append(time.perf_counter() - started)
            cpu = time.process_time() - cpu + server
            cpus.append((cpu, server))
            print(
                f"  run: {result.created} tasks created in {runs[-1]:.2f} s "
                f"(CPU: {cpu:.2f} s, of which database server {server:.2f} s)"
            )
        if url.startswith("postgresql"):
            async with engine.connect() as conn:  # what autovacuum does after a bulk load
                await conn.execute(text("ANALYZE"))
                await conn.commit()
        picked = random.Random(6).choices(paths, k=queries)
        times = []
        async with sessions() as session:
            for path in picked:
                filters = repository.TaskFilters(scope_path=path, today=today, open=True)
                started = time.perf_counter()
                page, total = await repository.search(session, filters, offset=0, limit=50)
                times.append((time.perf_counter() - started) * 1000)
                assert total >= len(page) > 0
        cuts = statistics.quantiles(times, n=20)
        return runs[0], runs[1], statistics.median(times), cuts[18], *cpus[0]
    finally:
        await engine.dispose()


async def on_postgresql(checkpoints: int, queries: int) -> Figures:
    name = f"loancheck_bench_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            return await measure(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", checkpoints, queries)
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def run(args: argparse.Namespace) -> int:
    """``--runs`` rounds, each measuring every backend in turn on a fresh database (so both
    see the same machine load); the last line has the medians."""
    figures: dict[str, list[Figures]] = {}
    print(
        f"{args.checkpoints} checkpoints in {SUB_BRANCHES} 支行 of {BRANCHES} 分行, a monthly plan "
        f"since {add_months(local_date(datetime.now(UTC)).replace(day=1), -11)}"
    )
    for round_ in range(1, args.runs + 1):
        print(f"round {round_}/{args.runs}, load average {os.getloadavg()[0]:.1f}")
        if "sqlite" in args.backends:
            with tempfile.TemporaryDirectory() as tmp:
                print(" SQLite:")
                url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
                figures.setdefault("sqlite", []).append(
                    await measure(url, args.checkpoints, args.queries)
                )
        if "postgresql" in args.backends:
            print(" PostgreSQL:")
            try:
                figures.setdefault("postgresql", []).append(
                    await on_postgresql(args.checkpoints, args.queries)
                )
            except OSError as exc:
                print(f"  PostgreSQL not reachable ({exc}): not measured")
    medians: dict[str, Figures] = {}
    for backend, runs in figures.items():
        firsts = ", ".join(f"{f[0]:.2f}" for f in runs)
        median = tuple(statistics.median(f[i] for f in runs) for i in range(6))
        medians[backend] = median = cast(Figures, median)
        first, again, p50, p95, cpu, server = median
        print(
            f"{backend}: generation {first:.2f} s (runs: {firsts}; CPU {cpu:.2f} s, of which "
            f"the server {server:.2f} s; re-run {again:.2f} s), "
            f"due/overdue for a 支行 p50 {p50:.1f} ms / p95 {p95:.1f} ms"
        )
    print(
        f"task generation (1 year, monthly, {args.checkpoints} checkpoints), median of "
        f"{args.runs}: "
        + ", ".join(f"{b} {f[0]:.2f} s" for b, f in medians.items())
        + f" (goal < {GOAL_SECONDS:.0f} s); due/overdue query p50/p95: "
        + ", ".join(f"{b} {f[2]:.1f}/{f[3]:.1f} ms" for b, f in medians.items())
        + f" (goal < {GOAL_QUERY_MS:.0f} ms)"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoints", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200, help="due/overdue queries timed")
    parser.add_argument("--runs", type=int, default=1, help="rounds (medians printed last)")
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
