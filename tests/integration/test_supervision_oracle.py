"""Every supervision figure against a brute-force Python oracle, on generated data, on
SQLite and PostgreSQL. The oracle reads the definitions of docs/supervision.md literally:
it loops over every row; the service must get the same numbers from aggregate SQL.

Each example builds its own little bank (a province, 分行, 支行 — one nested —, checkpoints,
two plans of both 检查类型, tasks in every state, inspections of every kind, anomalies) under
a fresh province, so examples never see each other's rows.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from inspection_api.anomalies.models import Anomaly, AnomalySource, AnomalyState
from inspection_api.auth.principal import Principal, Role
from inspection_api.checklists.content import Severity
from inspection_api.checklists.models import ChecklistTemplate, ChecklistVersion
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.db import create_engine, create_sessionmaker
from inspection_api.inspections.models import Inspection, InspectionKind, InspectionState
from inspection_api.orgs.models import Org, OrgKind
from inspection_api.plans.generator import ExitUnit, Frequency, MonthRule, TaskKind, ValidityUnit
from inspection_api.plans.models import InspectionType, Plan, PlanRule, Task, TaskState
from inspection_api.supervision import service
from inspection_api.supervision.repository import DetailFilters, Filters, GroupBy
from inspection_api.supervision.window import Granularity, Window, buckets, parse_period
from loancheck.settings import Settings

_codes = itertools.count()
TODAY = date(2026, 3, 15)
NOW = datetime(2026, 3, 15, 4, 0, tzinfo=UTC)
MONTHS = [date(2025 + (m // 12), m % 12 + 1, 1) for m in range(-6, 18)]  # 2024-07 … 2026-06
FIRST_MINUTE = datetime(2024, 6, 30, 16, 0, tzinfo=UTC)  # 2024-07-01 00:00 in Beijing
MINUTES = 730 * 24 * 60
INDICATORS = ("他行授信逾期", "企业经营状况异常", "欠缴税款")
CONCLUSIONS = ("normal", "watch", "close_watch", "exit", None)
OPEN_STATES = (TaskState.PENDING, TaskState.IN_PROGRESS)
TASK_FIELDS = (
    "checkpoint_id", "plan_id", "org_id", "period_start", "period_end", "state",
    "inspection_id", "covered_by_inspection_id",
)  # fmt: skip
INSPECTION_FIELDS = (
    "id", "kind", "state", "org_id", "checkpoint_id", "submitted_at", "conclusion", "findings",
)  # fmt: skip
ANOMALY_FIELDS = (
    "org_id", "inspection_id", "indicator", "severity", "state", "source", "created_at",
    "deadline", "escalation_level",
)  # fmt: skip


@dataclass
class Bank:
    orgs: dict[int, tuple[str, int | None]]  # id -> (path, parent)
    root: int
    branches: list[int]
    leaves: list[int]
    checkpoints: list[int]
    rule_type: dict[int, InspectionType]  # plan id -> type
    tasks: list[dict[str, Any]]
    inspections: list[dict[str, Any]]
    anomalies: list[dict[str, Any]]


def _next(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


moments = st.integers(0, MINUTES - 1).map(lambda m: FIRST_MINUTE + timedelta(minutes=m))


@st.composite
def datasets(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "checkpoints": draw(st.lists(st.integers(0, 4), min_size=1, max_size=6)),
        "tasks": draw(
            st.lists(
                st.tuples(
                    st.integers(0, 5),  # checkpoint (mod)
                    st.integers(0, 1),  # plan
                    st.integers(0, len(MONTHS) - 1),  # period
                    st.sampled_from(["pending", "in_progress", "done_here", "done_covered"]),
                    st.integers(0, 5),  # org (a move, when it differs from the checkpoint's)
                    st.integers(0, 9),  # which inspection did it
                ),
                max_size=25,
            )
        ),
        "inspections": draw(
            st.lists(
                st.tuples(
                    st.integers(0, 5),
                    st.sampled_from(list(InspectionKind)),
                    st.sampled_from(list(InspectionState)),
                    moments,
                    st.sampled_from(CONCLUSIONS),
                    st.integers(0, 3),  # findings
                ),
                max_size=10,
            )
        ),
        "anomalies": draw(
            st.lists(
                st.tuples(
                    st.integers(0, 5),
                    st.integers(-1, 9),  # inspection (-1: none)
                    st.sampled_from(INDICATORS),
                    st.sampled_from(list(Severity)),
                    st.sampled_from(list(AnomalyState)),
                    st.sampled_from(list(AnomalySource)),
                    moments,
                    st.integers(-48, 48),  # deadline, hours from NOW (None when -48)
                    st.integers(0, 2),  # escalation level
                ),
                max_size=12,
            )
        ),
    }


async def _build(session: Any, data: dict[str, Any]) -> Bank:
    def org(name: str, kind: OrgKind, parent: Org | None) -> Org:
        row = Org(
            name=name, code=f"O{next(_codes)}", kind=kind, parent_id=parent.id if parent else None
        )
        row.path = f"/tmp{row.code}/"
        session.add(row)
        return row

    async def placed(row: Org, parent: Org | None) -> Org:
        await session.flush()
        row.path = f"{parent.path if parent else '/'}{row.id}/"
        await session.flush()
        return row

    root = await placed(org("省行", OrgKind.PROVINCE, None), None)
    b1 = await placed(org("分行一", OrgKind.BRANCH, root), root)
    b2 = await placed(org("分行二", OrgKind.BRANCH, root), root)
    s1 = await placed(org("支行一", OrgKind.SUB_BRANCH, b1), b1)
    s2 = await placed(org("支行二", OrgKind.SUB_BRANCH, b1), b1)
    s3 = await placed(org("支行三", OrgKind.SUB_BRANCH, b2), b2)
    s4 = await placed(org("网点", OrgKind.SUB_BRANCH, s3), s3)  # 支行 may nest
    # Rows may sit on a 分行 itself (its own 本级 row).
    holders = [s1, s2, s3, s4, b1, s1]
    template = ChecklistTemplate(org_id=root.id, name="t", status="published")
    session.add(template)
    await session.flush()
    version = ChecklistVersion(template_id=template.id, number=1, status="published", content={})
    session.add(version)
    checkpoints = []
    for i, holder in enumerate(data["checkpoints"]):
        cp = Checkpoint(
            org_id=holders[holder].id,
            name=f"点{i}",
            code=f"C{next(_codes)}",
            customer_name=f"企业{i}",
        )
        session.add(cp)
        checkpoints.append(cp)
    plans = []
    for kind in (InspectionType.EXISTING, InspectionType.NEW):
        rule = PlanRule(
            org_id=root.id, name=f"r{next(_codes)}", org_kind=OrgKind.SUB_BRANCH, auto_join=False,
            frequency=Frequency.MONTH, interval=1, inspection_type=kind, validity=1,
            validity_unit=ValidityUnit.MONTH, start_date=MONTHS[0], end_date=None,
            exit_rule=MonthRule.THIS_MONTH, exit_interval=0, exit_unit=ExitUnit.MONTH, exit_count=0,
            first_rule=MonthRule.THIS_MONTH,
        )  # fmt: skip
        session.add(rule)
        await session.flush()
        plan = Plan(
            rule_id=rule.id, org_id=root.id, name=rule.name, start_date=MONTHS[0], end_date=None,
            executor_role=Role.INSPECTOR,
        )  # fmt: skip
        session.add(plan)
        plans.append((plan, kind))
    await session.flush()
    inspections = []
    for cp_i, kind, state, at, conclusion, findings in data["inspections"]:
        cp = checkpoints[cp_i % len(checkpoints)]
        submitted = None if state == InspectionState.DRAFT else at
        row = Inspection(
            kind=kind, state=state, checkpoint_id=cp.id, org_id=cp.org_id,
            checklist_version_id=version.id, started_at=at - timedelta(minutes=30),
            submitted_at=submitted, conclusion=conclusion if submitted else None,
            findings=[{"indicator": "x"}] * findings,
        )  # fmt: skip
        session.add(row)
        inspections.append(row)
    await session.flush()
    seen = set()
    tasks = []
    for cp_i, plan_i, month_i, state, org_i, ins_i in data["tasks"]:
        cp = checkpoints[cp_i % len(checkpoints)]
        plan, _ = plans[plan_i]
        if (cp.id, plan.id, month_i) in seen:
            continue
        seen.add((cp.id, plan.id, month_i))
        doer = inspections[ins_i % len(inspections)].id if inspections else None
        done = state.startswith("done") and doer is not None
        task = Task(
            plan_id=plan.id, checkpoint_id=cp.id,
            org_id=holders[org_i].id if org_i != 5 else cp.org_id, kind=TaskKind.REGULAR,
            period_start=MONTHS[month_i], period_end=_next(MONTHS[month_i]),
            state=TaskState.DONE if done else OPEN_STATES[state == "in_progress"],
            inspection_id=doer if done and state == "done_here" else None,
            covered_by_inspection_id=doer if done and state == "done_covered" else None,
        )  # fmt: skip
        session.add(task)
        tasks.append(task)
    anomalies = []
    for cp_i, ins_i, indicator, severity, state, source, at, hours, level in data["anomalies"]:
        cp = checkpoints[cp_i % len(checkpoints)]
        ins = inspections[ins_i % len(inspections)].id if inspections and ins_i >= 0 else None
        row = Anomaly(
            org_id=cp.org_id, checkpoint_id=cp.id, inspection_id=ins, indicator=indicator,
            severity=severity, source=source, state=state, created_at=at,
            deadline=None if hours == -48 else NOW + timedelta(hours=hours),
            escalation_level=level,
        )  # fmt: skip
        session.add(row)
        anomalies.append(row)
    await session.flush()
    orgs = {o.id: (o.path, o.parent_id) for o in (root, b1, b2, s1, s2, s3, s4)}

    def plain(row: Any, names: tuple[str, ...]) -> dict[str, Any]:
        return {n: getattr(row, n) for n in names}

    return Bank(
        orgs=orgs,
        root=root.id,
        branches=[b1.id, b2.id],
        leaves=[s1.id, s2.id, s3.id, s4.id],
        checkpoints=[c.id for c in checkpoints],
        rule_type={p.id: k for p, k in plans},
        tasks=[plain(t, TASK_FIELDS) for t in tasks],
        inspections=[plain(i, INSPECTION_FIELDS) for i in inspections],
        anomalies=[plain(a, ANOMALY_FIELDS) for a in anomalies],
    )


# --- the oracle: the definitions, row by row -------------------------------------------------


def _under(bank: Bank, org_id: int, scope: int) -> bool:
    return bank.orgs[org_id][0].startswith(bank.orgs[scope][0])


def _group(bank: Bank, org_id: int, scope: int, group_by: GroupBy, checkpoint_id: int) -> int:
    if group_by == GroupBy.CHECKPOINT:
        return checkpoint_id
    if group_by == GroupBy.SUB_BRANCH or org_id == scope:
        return org_id
    while bank.orgs[org_id][1] != scope:
        org_id = bank.orgs[org_id][1]  # type: ignore[assignment]
    return org_id


def _type_of(bank: Bank, inspection_id: int) -> InspectionType | None:
    types = [
        bank.rule_type[t["plan_id"]] for t in bank.tasks if t["inspection_id"] == inspection_id
    ]
    return min(types) if types else None


def _matches(bank: Bank, inspection: dict[str, Any], f: Filters) -> bool:
    if f.kind is not None and inspection["kind"] != f.kind:
        return False
    if f.inspection_type is not None:
        return any(
            t["inspection_id"] == inspection["id"]
            and bank.rule_type[t["plan_id"]] == f.inspection_type
            for t in bank.tasks
        )
    return True


def oracle_completion(
    bank: Bank, scope: int, window: Window, group_by: GroupBy, f: Filters
) -> tuple[dict[int, tuple[int, ...]], tuple[int, ...]]:
    kinds = {i["id"]: i["kind"] for i in bank.inspections}
    chosen = []
    for t in bank.tasks:
        due_day = t["period_end"] - timedelta(days=1)
        if not (_under(bank, t["org_id"], scope) and window.start <= due_day <= window.end):
            continue
        if t["period_start"] > TODAY:
            continue
        if f.inspection_type is not None and bank.rule_type[t["plan_id"]] != f.inspection_type:
            continue
        doer = t["inspection_id"] or t["covered_by_inspection_id"]
        done = t["state"] == TaskState.DONE and (f.kind is None or kinds.get(doer) == f.kind)
        chosen.append((t, done))

    def figures(rows: list[tuple[dict[str, Any], bool]]) -> tuple[int, ...]:
        return (
            len(rows),
            sum(done for _, done in rows),
            sum(done and t["inspection_id"] is None for t, done in rows),
            sum(t["state"] != TaskState.DONE and t["period_end"] <= TODAY for t, _ in rows),
            len({t["checkpoint_id"] for t, _ in rows}),
            len({t["checkpoint_id"] for t, done in rows if done}),
        )

    grouped: dict[int, list[Any]] = defaultdict(list)
    for t, done in chosen:
        grouped[_group(bank, t["org_id"], scope, group_by, t["checkpoint_id"])].append((t, done))
    return {g: figures(rows) for g, rows in grouped.items()}, figures(chosen)


def _submitted_in(i: dict[str, Any], window: Window) -> bool:
    start, end = window.utc_bounds
    return i["submitted_at"] is not None and start <= i["submitted_at"] < end


def oracle_conclusions(
    bank: Bank, scope: int, window: Window, group_by: GroupBy, f: Filters
) -> Counter[tuple[int, str, str]]:
    out: Counter[tuple[int, str, str]] = Counter()
    for i in bank.inspections:
        if _under(bank, i["org_id"], scope) and _submitted_in(i, window) and _matches(bank, i, f):
            group = _group(bank, i["org_id"], scope, group_by, i["checkpoint_id"])
            out[(group, str(i["kind"]), i["conclusion"] or "none")] += 1
    return out


def _anomaly_in(bank: Bank, a: dict[str, Any], scope: int, window: Window, f: Filters) -> bool:
    start, end = window.utc_bounds
    if not (_under(bank, a["org_id"], scope) and start <= a["created_at"] < end):
        return False
    if f.kind is None and f.inspection_type is None:
        return True
    by_id = {i["id"]: i for i in bank.inspections}
    return a["inspection_id"] in by_id and _matches(bank, by_id[a["inspection_id"]], f)


def oracle_anomalies(
    bank: Bank, scope: int, window: Window, group_by: GroupBy, f: Filters
) -> dict[int, tuple[int, ...]]:
    out: dict[int, list[int]] = {}
    for a in bank.anomalies:
        if not _anomaly_in(bank, a, scope, window, f):
            continue
        cp = 0  # anomalies are grouped by org here (checkpoint grouping is not drawn)
        row = out.setdefault(_group(bank, a["org_id"], scope, group_by, cp), [0] * 9)
        row[0] += 1
        row[1 + list(Severity).index(a["severity"])] += 1
        row[4 + list(AnomalyState).index(a["state"])] += 1
        row[7] += (
            a["state"] == AnomalyState.OPEN and a["deadline"] is not None and a["deadline"] <= NOW
        )
        row[8] += a["escalation_level"] > 0
    return {g: tuple(r) for g, r in out.items()}


# --- the comparison ---------------------------------------------------------------------------

windows = st.one_of(
    st.sampled_from(["2025", "2025-Q1", "2025-Q4", "2026-Q1", "2025-12", "2026-02", "2026-03"]).map(
        parse_period
    ),
    st.tuples(st.integers(0, 700), st.integers(0, 400)).map(
        lambda t: Window(
            date(2024, 7, 1) + timedelta(t[0]), date(2024, 7, 1) + timedelta(t[0] + t[1])
        )
    ),
)
filters = st.builds(
    Filters,
    kind=st.none() | st.sampled_from(list(InspectionKind)),
    inspection_type=st.none() | st.sampled_from(list(InspectionType)),
)


async def _check(
    url: str, data: dict[str, Any], window: Window, f: Filters, group_by: GroupBy, scope_pick: int
) -> None:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            bank = await _build(session, data)
            await session.commit()
            scope = [bank.root, *bank.branches, bank.leaves[2]][scope_pick]
            admin = Principal(
                0, "oracle", bank.root, bank.orgs[bank.root][0], frozenset({Role.SYSTEM_ADMIN})
            )

            # 完成率 / 覆盖率 per group and in total.
            result = await service.completion_report(
                session,
                admin,
                org_id=scope,
                window=window,
                group_by=group_by,
                filters=f,
                today=TODAY,
            )
            expected, expected_total = oracle_completion(bank, scope, window, group_by, f)

            def tup(c: service.Completion) -> tuple[int, ...]:
                return (
                    c.due,
                    c.done,
                    c.covered_by_history,
                    c.overdue,
                    c.checkpoints_due,
                    c.checkpoints_covered,
                )

            got = {g.id: tup(c) for g, c in result.rows if c.due}
            assert got == {g: v for g, v in expected.items() if v[0]}
            assert tup(result.total) == expected_total
            if group_by == GroupBy.CHILD:  # every child org has its row, zeros included
                children = {o for o, (_, parent) in bank.orgs.items() if parent == scope}
                assert children <= {g.id for g, _ in result.rows}
            for _, c in result.rows:
                assert c.completion_rate == (round(c.done / c.due, 4) if c.due else None)
                assert c.coverage_rate == (
                    round(c.checkpoints_covered / c.checkpoints_due, 4)
                    if c.checkpoints_due
                    else None
                )

            # 报表曲线: every bucket as a window of its own.
            trend = await service.trend(
                session,
                admin,
                org_id=scope,
                window=window,
                granularity=Granularity.QUARTER,
                filters=f,
                today=TODAY,
            )
            for cut, figures, n_inspections, n_anomalies in trend.points:
                assert tup(figures) == oracle_completion(bank, scope, cut, group_by, f)[1]
                assert n_inspections == sum(
                    _under(bank, i["org_id"], scope)
                    and _submitted_in(i, cut)
                    and _matches(bank, i, f)
                    for i in bank.inspections
                )
                assert n_anomalies == sum(
                    _anomaly_in(bank, a, scope, cut, f) for a in bank.anomalies
                )

            # 巡检结论统计表.
            conclusions = await service.conclusion_report(
                session, admin, org_id=scope, window=window, group_by=group_by, filters=f
            )
            oracle = oracle_conclusions(bank, scope, window, group_by, f)
            got_c = {
                (g.id, k): n
                for g, counts in conclusions.rows
                for k, n in counts.items()
                if k != "total" and n
            }
            want_c: Counter[tuple[int, str]] = Counter()
            for (g, _, c), n in oracle.items():
                want_c[(g, c)] += n
            assert got_c == dict(want_c)
            by_kind: Counter[tuple[str, str]] = Counter()
            for (_, k, c), n in oracle.items():
                by_kind[(k, c)] += n
            assert {
                (k, c): n
                for k, cs in conclusions.by_kind.items()
                for c, n in cs.items()
                if c != "total"
            } == dict(by_kind)

            # 异常汇总 (by org).
            if group_by != GroupBy.CHECKPOINT:
                anomalies = await service.anomaly_report(
                    session,
                    admin,
                    org_id=scope,
                    window=window,
                    group_by=group_by,
                    filters=f,
                    now=NOW,
                )
                got_a = {
                    g.id: (
                        a.total, *(a.by_severity.get(s, 0) for s in Severity),
                        *(a.by_state.get(s, 0) for s in AnomalyState), a.overdue, a.escalated,
                    )
                    for g, a in anomalies.rows if a.total
                }  # fmt: skip
                assert got_a == oracle_anomalies(bank, scope, window, group_by, f)

            # 预警指示统计表: rule anomalies per quarter.
            indicators = await service.indicator_report(
                session, admin, org_id=scope, window=window, filters=f
            )
            quarters = buckets(window, Granularity.QUARTER)
            want_i = {
                name: [
                    sum(
                        a["indicator"] == name
                        and a["source"] == AnomalySource.RULE
                        and _anomaly_in(bank, a, scope, q, f)
                        for a in bank.anomalies
                    )
                    for q in quarters
                ]
                for name in INDICATORS
            }
            assert dict(indicators.rows) == {k: v for k, v in want_i.items() if any(v)}

            # 检查明细: the ids, their order, the total and each inspection's type.
            page = await service.details(
                session,
                admin,
                org_id=scope,
                window=window,
                filters=f,
                extra=DetailFilters(),
                offset=0,
                limit=200,
            )
            want_d = sorted(
                (
                    i
                    for i in bank.inspections
                    if _under(bank, i["org_id"], scope)
                    and _submitted_in(i, window)
                    and _matches(bank, i, f)
                ),
                key=lambda i: (i["submitted_at"], i["id"]),
                reverse=True,
            )
            assert [r.id for r in page.rows] == [i["id"] for i in want_d]
            assert page.total == len(want_d)
            assert [r.inspection_type for r in page.rows] == [
                _type_of(bank, i["id"]) for i in want_d
            ]
    finally:
        await engine.dispose()


@hsettings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=datasets(),
    window=windows,
    f=filters,
    group_by=st.sampled_from(list(GroupBy)),
    scope_pick=st.integers(0, 3),
)
def test_every_figure_equals_the_oracle(settings: Settings, data, window, f, group_by, scope_pick):  # type: ignore[no-untyped-def]
    asyncio.run(_check(settings.database_url, data, window, f, group_by, scope_pick))
