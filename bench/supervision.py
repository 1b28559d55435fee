"""实时监管 at province scale, on PostgreSQL.

The reference deployment (中行河北分行): 14 二级分行, 229 支行, 10,000 checkpoints, three years
of monthly tasks (360,000), an inspection for most of them (on site, remote or self-check,
each with its checklist answers as JSON: ``--answers`` per inspection, 14 by default ≈ 5 M
answers), anomalies with warning indicators for some. Loaded into a throw-away database
(127.0.0.1:5432, user postgres, as the tests make it) with COPY, then measured through the
service (the SQL and the shaping an API call does, without HTTP):

- the province's completion/coverage report per 分行 for last year: p50/p95 (goal p95 < 200 ms);
- a 支行 drill-down (its checkpoints) for last year: p50/p95 (goal < 50 ms);
- the Excel export of one 分行's year of details (goal < 5 s);
- for reference: the 36-month trend, the conclusion, anomaly and indicator tables.

Prints each figure; the last line has the goals' figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from inspection_api.auth.principal import Principal, Role
from inspection_api.db import create_engine, create_sessionmaker
from inspection_api.migrate import upgrade
from inspection_api.plans.generator import SHANGHAI, add_months, local_date
from inspection_api.supervision import endpoints, export, service
from inspection_api.supervision.repository import DetailFilters, Filters, GroupBy
from inspection_api.supervision.window import Granularity, Window, parse_period

BRANCHES = 14
SUB_BRANCHES = 229
MONTHS = 36
PG_ADMIN_URL = os.environ.get(
    "LOANCHECK_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
KINDS = ("on_site",) * 12 + ("remote",) * 5 + ("self_check",) * 3
CONCLUSIONS = ("normal",) * 14 + ("watch",) * 4 + ("close_watch", "exit")
INDICATORS = (
    "他行授信逾期",
    "企业经营状况异常",
    "欠缴税款",
    "水电气用量骤降",
    "涉诉或被执行",
    "实际控制人变更",
)
SEVERITIES = ("low", "medium", "high")
ANOMALY_STATES = ("open", "acknowledged", "resolved", "resolved", "resolved")


def _utc(day: date, minutes: int) -> datetime:
    local = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI) + timedelta(minutes=minutes)
    return local.astimezone(UTC)


async def load(dsn: str, checkpoints: int, answers: int, seed: int) -> dict[str, Any]:
    """Orgs, checkpoints, plans, tasks, inspections and anomalies, by COPY."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    today = local_date(now)
    first = add_months(today.replace(day=1), -MONTHS + 1)
    conn = await asyncpg.connect(dsn)
    started = time.perf_counter()
    try:
        orgs: list[tuple[Any, ...]] = [(1, "河北省分行", "HB", "province", None, "/1/", now)]
        subs: list[int] = []
        branch_of: dict[int, int] = {}
        next_id = 2
        for b in range(BRANCHES):
            branch = next_id
            next_id += 1
            orgs.append((branch, f"分行{b + 1}", f"B{b}", "branch", 1, f"/1/{branch}/", now))
            count = SUB_BRANCHES // BRANCHES + (1 if b < SUB_BRANCHES % BRANCHES else 0)
            for s in range(count):
                sub = next_id
                next_id += 1
                path = f"/1/{branch}/{sub}/"
                orgs.append(
                    (sub, f"支行{b + 1}-{s + 1}", f"B{b}-S{s}", "sub_branch", branch, path, now)
                )
                subs.append(sub)
                branch_of[sub] = branch
        await conn.copy_records_to_table(
            "orgs",
            records=orgs,
            columns=["id", "name", "code", "kind", "parent_id", "path", "created_at"],
        )
        await conn.execute(
            "INSERT INTO checklist_templates (id, org_id, name, description, status, created_at) "
            "VALUES (1, 1, '明白纸', '', 'published', now())"
        )
        await conn.execute(
            "INSERT INTO checklist_versions (id, template_id, number, status, content, revision, "
            "created_at, updated_at) VALUES (1, 1, 1, 'published', '{}', 1, now(), now())"
        )
        for rule_id, kind in ((1, "existing"), (2, "new")):
            await conn.execute(
                "INSERT INTO plan_rules (id, org_id, name, org_kind, auto_join, frequency,"
                " interval, inspection_type, validity, validity_unit, start_date, exit_rule,"
                " exit_interval, exit_unit, exit_count, first_rule, created_at, updated_at)"
                " VALUES ($1, 1, $2, 'sub_branch', false, 'month', 1, $3, 1, 'month', $4,"
                " 'this_month', 0, 'month', 0, 'this_month', now(), now())",
                rule_id, f"规则{rule_id}", kind, first,
            )  # fmt: skip
            await conn.execute(
                "INSERT INTO plans (id, rule_id, org_id, name, start_date, executor_role,"
                " auto_created, created_at, updated_at) VALUES ($1, $1, 1, $2, $3, 'inspector',"
                " false, now(), now())",
                rule_id, f"计划{rule_id}", first,
            )  # fmt: skip
        cps = [
            (i + 1, subs[i % len(subs)], f"检查点{i + 1}", f"CP{i + 1:05d}", f"企业{i + 1}",
             "", "", "", "", 1, now, now)
            for i in range(checkpoints)
        ]  # fmt: skip
        await conn.copy_records_to_table(
            "checkpoints",
            records=cps,
            columns=["id", "org_id", "name", "code", "customer_name", "address", "contact_name",
                     "contact_phone", "exit_note", "qr_generation", "created_at", "updated_at"],
        )  # fmt: skip
        answer_keys = [f"item_{k}" for k in range(answers)]
        tasks: list[tuple[Any, ...]] = []
        inspections: list[tuple[Any, ...]] = []
        anomalies: list[tuple[Any, ...]] = []
        inspection_id = 0
        for m in range(MONTHS):
            start = add_months(first, m)
            end = add_months(start, 1)
            for cp_id, org_id, *_ in cps:
                plan = 2 if cp_id % 5 == 0 else 1
                roll = rng.random()
                state, own, covered, done_at = "pending", None, None, None
                if start <= today and roll < 0.88:
                    inspection_id += 1
                    day = start + timedelta(days=rng.randrange((end - start).days))
                    done_at = _utc(day, rng.randrange(8 * 60, 18 * 60))
                    if done_at > now:
                        done_at = now - timedelta(minutes=rng.randrange(1, 600))
                    kind = rng.choice(KINDS)
                    conclusion = rng.choice(CONCLUSIONS)
                    raised = rng.random() < 0.06
                    findings = [{"indicator": rng.choice(INDICATORS)}] if raised else []
                    inspections.append((
                        inspection_id, kind, rng.choice(("approved", "approved", "submitted")),
                        cp_id, org_id, 1, done_at - timedelta(minutes=40), done_at,
                        json.dumps({k: rng.choice(("是", "否", 12.5, "正常")) for k in answer_keys},
                                   ensure_ascii=False),
                        json.dumps(findings, ensure_ascii=False), "[]", conclusion, 1, "", "", "",
                        done_at, done_at,
                    ))  # fmt: skip
                    state, own = "done", inspection_id
                    for f in findings:
                        anomalies.append((
                            org_id, cp_id, inspection_id, f["indicator"], rng.choice(SEVERITIES),
                            "rule", rng.choice(ANOMALY_STATES), done_at,
                            done_at + timedelta(hours=24), rng.choice((0, 0, 0, 1)), "", "", "",
                            "", "", done_at,
                        ))  # fmt: skip
                elif start <= today and roll < 0.93 and inspection_id:
                    state, covered = "done", inspection_id  # 历史检查有效期
                elif start <= today and roll < 0.96:
                    state = "in_progress"
                if start <= today:
                    tasks.append((plan, cp_id, org_id, "regular", start, end, state, own, covered,
                                  done_at, now))  # fmt: skip
        await conn.copy_records_to_table(
            "inspections",
            records=inspections,
            columns=["id", "kind", "state", "checkpoint_id", "org_id", "checklist_version_id",
                     "started_at", "submitted_at", "answers", "findings", "flags", "conclusion",
                     "submission_count", "contact_name", "rectification_opinion", "review_comment",
                     "created_at",
                     "updated_at"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "plan_tasks",
            records=tasks,
            columns=["plan_id", "checkpoint_id", "org_id", "kind", "period_start", "period_end",
                     "state", "inspection_id", "covered_by_inspection_id", "completed_at",
                     "created_at"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "anomalies",
            records=anomalies,
            columns=["org_id", "checkpoint_id", "inspection_id", "indicator", "severity", "source",
                     "state", "created_at", "deadline", "escalation_level", "item_key",
                     "item_label", "section", "resolution", "note", "updated_at"],
        )  # fmt: skip
        for table in ("orgs", "checkpoints", "inspections", "plan_tasks", "anomalies", "plans"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT max(id) FROM {table}))"
            )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return {
        "seconds": time.perf_counter() - started,
        "tasks": len(tasks),
        "inspections": len(inspections),
        "answers": len(inspections) * answers,
        "anomalies": len(anomalies),
        "subs": subs,
        "branch_of": branch_of,
        "today": today,
    }


async def reloaded(dsn: str) -> dict[str, Any]:
    """What ``load`` returns, read back from a database it filled (``--reuse``)."""
    conn = await asyncpg.connect(dsn)
    started = time.perf_counter()
    try:
        subs = await conn.fetch(
            "SELECT id, parent_id FROM orgs WHERE kind = 'sub_branch' ORDER BY id"
        )
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM plan_tasks) AS tasks,"
            " (SELECT count(*) FROM inspections) AS inspections,"
            " (SELECT count(*) FROM json_object_keys("
            "  (SELECT answers::json FROM inspections LIMIT 1))) AS per_inspection,"
            " (SELECT count(*) FROM anomalies) AS anomalies"
        )
    finally:
        await conn.close()
    return {
        "seconds": time.perf_counter() - started,
        "tasks": counts["tasks"],
        "inspections": counts["inspections"],
        "answers": counts["inspections"] * counts["per_inspection"],
        "anomalies": counts["anomalies"],
        "subs": [r["id"] for r in subs],
        "branch_of": {r["id"]: r["parent_id"] for r in subs},
        "today": local_date(datetime.now(UTC)),
    }


async def server_cpu(session: Any) -> float:
    """CPU seconds used so far by this session's PostgreSQL backend (read from /proc: the
    server runs on this machine). On a busy shared machine wall time says little; CPU time
    says what the work costs."""
    pid = await session.scalar(text("SELECT pg_backend_pid()"))
    try:
        stat = await asyncio.to_thread(Path(f"/proc/{pid}/stat").read_text)
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def timed(
    sessions: Any, runs: int, call: Callable[[Any], Awaitable[Any]]
) -> tuple[float, float, float]:
    """Wall p50, p95 and the mean CPU (this process + the database backend), in ms."""
    async with sessions() as session:
        await call(session)  # warm
    samples, cpu = [], 0.0
    for _ in range(runs):
        async with sessions() as session:
            server = await server_cpu(session)
            client = time.process_time()
            started = time.perf_counter()
            await call(session)
            samples.append((time.perf_counter() - started) * 1000)
            cpu += time.process_time() - client + await server_cpu(session) - server
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))], cpu / runs * 1000


async def measure(url: str, data: dict[str, Any], runs: int) -> tuple[float, float, float]:
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    admin = Principal(0, "bench", 1, "/1/", frozenset({Role.SYSTEM_ADMIN}))
    today = data["today"]
    last_year = parse_period(str(today.year - 1))
    rng = random.Random(7)
    none = Filters()

    async def province(session: Any) -> None:
        await service.completion_report(
            session, admin, org_id=1, window=last_year, group_by=GroupBy.CHILD,
            filters=none, today=today,
        )  # fmt: skip

    async def province_sub_branches(session: Any) -> None:
        await service.completion_report(
            session, admin, org_id=1, window=last_year, group_by=GroupBy.SUB_BRANCH,
            filters=none, today=today,
        )  # fmt: skip

    async def drill(session: Any) -> None:
        await service.completion_report(
            session, admin, org_id=rng.choice(data["subs"]), window=last_year,
            group_by=GroupBy.CHECKPOINT, filters=none, today=today,
        )  # fmt: skip

    three_years = Window(add_months(today.replace(day=1), -MONTHS + 1), today)

    async def trend(session: Any) -> None:
        await service.trend(
            session, admin, org_id=1, window=three_years, granularity=Granularity.MONTH,
            filters=none, today=today,
        )  # fmt: skip

    async def conclusions(session: Any) -> None:
        await service.conclusion_report(
            session, admin, org_id=1, window=last_year, group_by=GroupBy.CHILD, filters=none
        )

    async def anomalies(session: Any) -> None:
        await service.anomaly_report(
            session, admin, org_id=1, window=last_year, group_by=GroupBy.CHILD,
            filters=none, now=datetime.now(UTC),
        )  # fmt: skip

    async def indicators(session: Any) -> None:
        await service.indicator_report(session, admin, org_id=1, window=last_year, filters=none)

    figures = {}
    for name, call, n in (
        ("province completion per 分行, last year", province, runs),
        ("province completion per 支行 (229 rows), last year", province_sub_branches, runs),
        ("支行 drill-down to checkpoints, last year", drill, runs),
        ("province trend, 36 months", trend, max(5, runs // 4)),
        ("province conclusions per 分行, last year", conclusions, max(5, runs // 4)),
        ("province anomaly summary per 分行, last year", anomalies, max(5, runs // 4)),
        ("province indicators per quarter, last year", indicators, max(5, runs // 4)),
    ):
        p50, p95, cpu = await timed(sessions, n, call)
        figures[name] = p95
        print(f"{name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, CPU {cpu:.0f} ms/call", flush=True)

    branch = data["branch_of"][data["subs"][0]]
    started = time.perf_counter()
    client = time.process_time()
    async with sessions() as session:
        server = await server_cpu(session)
        ctx = await service.context(session, admin, branch)
        rows = service.stream_details(session, ctx, last_year, none, DetailFilters())
        count = 0

        async def converted() -> Any:
            nonlocal count
            async for chunk in rows:
                count += len(chunk)
                yield [endpoints._detail_values(r) for r in chunk]

        handle = await export.write("检查明细", endpoints.DETAIL_COLUMNS, converted())
        size = 0
        async for block in export.chunks(handle):
            size += len(block)
        cpu = time.process_time() - client + await server_cpu(session) - server
    export_s = time.perf_counter() - started
    print(f"load average while measuring: {os.getloadavg()[0]:.1f}")
    print(
        f"export one 分行's year of details: {count} rows, {size / 1e6:.1f} MB, "
        f"{export_s:.2f} s, CPU {cpu:.2f} s"
    )
    await engine.dispose()
    return (
        figures["province completion per 分行, last year"],
        figures["支行 drill-down to checkpoints, last year"],
        export_s,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", type=int, default=10_000)
    parser.add_argument("--answers", type=int, default=14, help="answers per inspection")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse", metavar="DATABASE", help="measure a database an earlier --keep run loaded"
    )
    args = parser.parse_args()

    name = args.reuse or f"loancheck_bench_sup_{uuid.uuid4().hex[:8]}"
    admin_engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    if not args.reuse:
        async with admin_engine.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        await asyncio.to_thread(upgrade, url)
        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        if args.reuse:
            data = await reloaded(dsn)
        else:
            data = await load(dsn, args.checkpoints, args.answers, seed=1)
        print(
            f"{'kept' if args.reuse else 'loaded'} {data['tasks']} tasks, "
            f"{data['inspections']} inspections ({data['answers']} answers), "
            f"{data['anomalies']} anomalies in {data['seconds']:.1f} s (database {name})",
            flush=True,
        )
        province, drill, export_s = await measure(url, data, args.runs)
    finally:
        if not args.keep and not args.reuse:
            async with admin_engine.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin_engine.dispose()
    print(
        f"province report p95 {province:.1f} ms (goal < 200), 支行 drill-down p95 {drill:.1f} ms "
        f"(goal < 50), one 分行's year exported in {export_s:.2f} s (goal < 5)"
    )


if __name__ == "__main__":
    asyncio.run(main())
