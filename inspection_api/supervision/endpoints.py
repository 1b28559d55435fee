"""实时监管 over REST: the report tables of an org of the caller's jurisdiction, and their
Excel exports (built from the same response objects, so the numbers are the same)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import Any

from aiohttp import web

from inspection_api.beijing import file_stamp
from inspection_api.db import utcnow
from inspection_api.inspections.models import InspectionKind
from inspection_api.plans.generator import local_date
from inspection_api.supervision import export, service
from inspection_api.supervision.export import RATE, TEXT, TIME, Column
from inspection_api.supervision.repository import DetailFilters, Filters, GroupBy, OrgRow
from inspection_api.supervision.schemas import (
    AnomalyReport,
    AnomalyRow,
    CompletionReport,
    CompletionRow,
    ConclusionKindRow,
    ConclusionReport,
    ConclusionRow,
    DetailOut,
    DetailPage,
    DetailQuery,
    ExportQuery,
    Figures,
    GroupedQuery,
    IndicatorReport,
    IndicatorRow,
    OrgRef,
    Overview,
    OverviewQuery,
    ReportQuery,
    TrendPoint,
    TrendQuery,
    TrendReport,
    WindowOut,
)
from inspection_api.supervision.window import Granularity, Window
from inspection_api.web.downloads import download
from inspection_api.web.routing import ApiRoutes, Ctx

api = ApiRoutes(tag="supervision")
BASE = "/api/v1/supervision"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _window(query: ReportQuery, today: date) -> Window:
    return service.window_of(query.period, query.date_from, query.date_to, today)


def _filters(query: ReportQuery) -> Filters:
    return Filters(kind=query.kind, inspection_type=query.inspection_type)


def _org(ctx: service.Context) -> OrgRef:
    def ref(o: OrgRow) -> OrgRef:
        return OrgRef(id=o.id, name=o.name, kind=o.kind)

    return OrgRef(
        id=ctx.org.id, name=ctx.org.name, kind=ctx.org.kind, path=[ref(o) for o in ctx.trail]
    )


def _window_out(window: Window) -> WindowOut:
    return WindowOut(start=window.start, end=window.end, label=window.label)


def _figures(c: service.Completion) -> dict[str, Any]:
    return {
        "due": c.due,
        "done": c.done,
        "covered_by_history": c.covered_by_history,
        "overdue": c.overdue,
        "completion_rate": c.completion_rate,
        "checkpoints_due": c.checkpoints_due,
        "checkpoints_covered": c.checkpoints_covered,
        "coverage_rate": c.coverage_rate,
    }


def _group(g: service.Group) -> dict[str, Any]:
    return {"id": g.id, "name": g.name, "kind": g.kind, "code": g.code, "drill": g.drill}


async def _completion(c: Ctx, query: GroupedQuery) -> CompletionReport:
    today = local_date(utcnow())
    result = await service.completion_report(
        c.session,
        c.user,
        org_id=query.org_id,
        window=_window(query, today),
        group_by=query.group,
        filters=_filters(query),
        today=today,
    )
    return _completion_out(result, query.group, today)


def _completion_out(
    result: service.CompletionResult, group: GroupBy, today: date
) -> CompletionReport:
    return CompletionReport(
        org=_org(result.ctx),
        window=_window_out(result.window),
        group=group,
        today=today,
        rows=[CompletionRow(**_group(g), **_figures(f)) for g, f in result.rows],
        total=Figures(**_figures(result.total)),
    )


@api.route(
    "GET", BASE + "/completion", summary="完成率与覆盖率 Completion and coverage",
    query=GroupedQuery, response=CompletionReport,
)  # fmt: skip
async def get_completion(ctx: Ctx, *, query: GroupedQuery) -> CompletionReport:
    """分行完成率 / 支行完成率: per org right below (`group=child`), per 支行
    (`sub_branch`) or per checkpoint, and for the whole org. 404 outside my jurisdiction."""
    return await _completion(ctx, query)


async def _trend(c: Ctx, query: TrendQuery) -> TrendReport:
    today = local_date(utcnow())
    result = await service.trend(
        c.session,
        c.user,
        org_id=query.org_id,
        window=_window(query, today),
        granularity=query.granularity,
        filters=_filters(query),
        today=today,
    )
    return _trend_out(result, query.granularity)


def _trend_out(result: service.TrendResult, granularity: Granularity) -> TrendReport:
    return TrendReport(
        org=_org(result.ctx),
        window=_window_out(result.window),
        granularity=granularity,
        points=[
            TrendPoint(
                start=w.start, end=w.end, label=w.label, inspections=n, anomalies=a, **_figures(f)
            )
            for w, f, n, a in result.points
        ],
    )


@api.route(
    "GET", BASE + "/trend", summary="报表曲线 Trend per month, quarter or year",
    query=TrendQuery, response=TrendReport,
)  # fmt: skip
async def get_trend(ctx: Ctx, *, query: TrendQuery) -> TrendReport:
    """完成率, 覆盖率, inspections submitted and anomalies raised per bucket of the window."""
    return await _trend(ctx, query)


def _detail(row: Any) -> DetailOut:
    return DetailOut(
        id=row.id,
        submitted_at=row.submitted_at,
        started_at=row.started_at,
        kind=row.kind,
        state=row.state,
        conclusion=row.conclusion,
        inspection_type=row.inspection_type,
        org_id=row.org_id,
        org_name=row.org_name,
        checkpoint_id=row.checkpoint_id,
        checkpoint_code=row.checkpoint_code,
        checkpoint_name=row.checkpoint_name,
        customer_name=row.customer_name,
        inspector_name=row.inspector_name or "",
        findings=len(row.findings or []),
    )


def _detail_filters(query: DetailQuery) -> DetailFilters:
    return DetailFilters(
        checkpoint_id=query.checkpoint_id,
        state=query.state.value if query.state else None,
        conclusion=query.conclusion,
    )


@api.route(
    "GET", BASE + "/inspections", summary="检查明细 Inspection details",
    query=DetailQuery, response=DetailPage,
)  # fmt: skip
async def get_details(ctx: Ctx, *, query: DetailQuery) -> DetailPage:
    """Inspections submitted in the window, newest first; filter by `checkpoint_id`,
    `state`, `conclusion`, `kind`, `inspection_type`."""
    today = local_date(utcnow())
    result = await service.details(
        ctx.session,
        ctx.user,
        org_id=query.org_id,
        window=_window(query, today),
        filters=_filters(query),
        extra=_detail_filters(query),
        offset=query.offset,
        limit=query.limit,
    )
    return _details_out(result, query.offset, query.limit)


def _details_out(result: service.DetailResult, offset: int, limit: int) -> DetailPage:
    return DetailPage(
        items=[_detail(r) for r in result.rows],
        total=result.total,
        offset=offset,
        limit=limit,
        org=_org(result.ctx),
        window=_window_out(result.window),
    )


def _counts_of(counts: dict[str, int]) -> dict[str, Any]:
    keys = ("normal", "watch", "close_watch", "exit", "none", "total")
    return {k: counts.get(k, 0) for k in keys}


async def _conclusions(c: Ctx, query: GroupedQuery) -> ConclusionReport:
    today = local_date(utcnow())
    result = await service.conclusion_report(
        c.session,
        c.user,
        org_id=query.org_id,
        window=_window(query, today),
        group_by=query.group,
        filters=_filters(query),
    )
    return _conclusions_out(result, query.group)


def _conclusions_out(result: service.ConclusionResult, group: GroupBy) -> ConclusionReport:
    return ConclusionReport(
        org=_org(result.ctx),
        window=_window_out(result.window),
        group=group,
        rows=[ConclusionRow(**_group(g), **_counts_of(n)) for g, n in result.rows],
        by_kind=[
            ConclusionKindRow(kind=InspectionKind(kind), **_counts_of(result.by_kind.get(kind, {})))
            for kind in ("on_site", "remote", "self_check")
        ],
        total=_counts_of(result.total),  # type: ignore[arg-type]
    )


@api.route(
    "GET", BASE + "/conclusions", summary="巡检结论统计 Conclusions",
    query=GroupedQuery, response=ConclusionReport,
)  # fmt: skip
async def get_conclusions(ctx: Ctx, *, query: GroupedQuery) -> ConclusionReport:
    """Submitted inspections by conclusion (正常/关注/强烈关注/退出) per group and per kind."""
    return await _conclusions(ctx, query)


def _anomaly_figures(a: service.AnomalyCounts) -> dict[str, Any]:
    return {
        "total": a.total,
        "low": a.by_severity.get("low", 0),
        "medium": a.by_severity.get("medium", 0),
        "high": a.by_severity.get("high", 0),
        "open": a.by_state.get("open", 0),
        "acknowledged": a.by_state.get("acknowledged", 0),
        "resolved": a.by_state.get("resolved", 0),
        "overdue": a.overdue,
        "escalated": a.escalated,
    }


async def _anomalies(c: Ctx, query: GroupedQuery) -> AnomalyReport:
    today = local_date(utcnow())
    result = await service.anomaly_report(
        c.session,
        c.user,
        org_id=query.org_id,
        window=_window(query, today),
        group_by=query.group,
        filters=_filters(query),
        now=utcnow(),
    )
    return _anomalies_out(result, query.group)


def _anomalies_out(result: service.AnomalyResult, group: GroupBy) -> AnomalyReport:
    return AnomalyReport(
        org=_org(result.ctx),
        window=_window_out(result.window),
        group=group,
        rows=[AnomalyRow(**_group(g), **_anomaly_figures(a)) for g, a in result.rows],
        total=_anomaly_figures(result.total),  # type: ignore[arg-type]
    )


@api.route(
    "GET", BASE + "/anomalies", summary="异常汇总 Anomaly summary",
    query=GroupedQuery, response=AnomalyReport,
)  # fmt: skip
async def get_anomalies(ctx: Ctx, *, query: GroupedQuery) -> AnomalyReport:
    """Anomalies raised in the window: by severity, by state, overdue and escalated."""
    return await _anomalies(ctx, query)


async def _indicators(c: Ctx, query: ReportQuery) -> IndicatorReport:
    today = local_date(utcnow())
    result = await service.indicator_report(
        c.session,
        c.user,
        org_id=query.org_id,
        window=_window(query, today),
        filters=_filters(query),
    )
    return _indicators_out(result)


def _indicators_out(result: service.IndicatorResult) -> IndicatorReport:
    totals = [sum(counts[i] for _, counts in result.rows) for i in range(len(result.columns))]
    return IndicatorReport(
        org=_org(result.ctx),
        window=_window_out(result.window),
        columns=[_window_out(w) for w in result.columns],
        rows=[
            IndicatorRow(indicator=i, counts=counts, total=sum(counts)) for i, counts in result.rows
        ],
        totals=totals,
        total=sum(totals),
    )


@api.route(
    "GET", BASE + "/indicators", summary="预警指示统计 Warning indicators per quarter",
    query=ReportQuery, response=IndicatorReport,
)  # fmt: skip
async def get_indicators(ctx: Ctx, *, query: ReportQuery) -> IndicatorReport:
    """How often each warning indicator (预警指标, a checklist rule) raised an anomaly, per
    quarter of the window."""
    return await _indicators(ctx, query)


@api.route(
    "GET", BASE + "/overview", summary="实时监管首页 Landing: every table at once",
    query=OverviewQuery, response=Overview,
    problems={404: "The org is outside my jurisdiction or does not exist (not_found)"},
)  # fmt: skip
async def get_overview(ctx: Ctx, *, query: OverviewQuery) -> Overview:
    """What the console's 实时监管 shows first, in one answer (one jurisdiction check): the
    completion table, the trend, 异常汇总, 预警指标, 巡检结论 and the first page of 检查明细,
    each equal to what its own endpoint answers for the same query. 404 outside my
    jurisdiction."""
    today = local_date(utcnow())
    group = GroupBy(query.group)
    result = await service.overview(
        ctx.session,
        ctx.user,
        org_id=query.org_id,
        window=_window(query, today),
        group_by=group,
        filters=_filters(query),
        extra=DetailFilters(checkpoint_id=query.checkpoint_id),
        limit=query.limit,
        today=today,
        now=utcnow(),
    )
    return Overview(
        org=_org(result.ctx),
        window=_window_out(result.window),
        today=today,
        group=result.group,
        completion=_completion_out(result.completion, result.group, today),
        trend=_trend_out(result.trend, Granularity.MONTH),
        anomalies=_anomalies_out(result.anomalies, group),
        indicators=_indicators_out(result.indicators),
        conclusions=_conclusions_out(result.conclusions, group),
        details=_details_out(result.details, 0, query.limit),
    )


# --- exports ---------------------------------------------------------------------------------

KIND_ZH = {"on_site": "现场检查", "remote": "远程巡检", "self_check": "企业自检"}
STATE_ZH = {"draft": "进行中", "submitted": "已提交", "approved": "已通过", "returned": "已退回"}
CONCLUSION_ZH = {"normal": "正常", "watch": "关注", "close_watch": "强烈关注", "exit": "退出"}
TYPE_ZH = {"existing": "存量", "new": "新增"}
GROUP_ZH = {GroupBy.CHILD: "机构", GroupBy.SUB_BRANCH: "支行", GroupBy.CHECKPOINT: "检查点"}

FIGURE_COLUMNS = [
    Column("应检任务"),
    Column("已完成"),
    Column("其中历史检查覆盖"),
    Column("逾期"),
    Column("完成率", RATE),
    Column("应检检查点"),
    Column("已检检查点"),
    Column("覆盖率", RATE),
]


def _figure_values(f: Figures) -> list[Any]:
    return [
        f.due,
        f.done,
        f.covered_by_history,
        f.overdue,
        f.completion_rate,
        f.checkpoints_due,
        f.checkpoints_covered,
        f.coverage_rate,
    ]


DETAIL_COLUMNS = [
    Column("检查编号"),
    Column("提交时间", TIME, 18),
    Column("支行", TEXT, 16),
    Column("检查点编号", TEXT, 14),
    Column("检查点", TEXT, 20),
    Column("企业名称", TEXT, 24),
    Column("检查方式", TEXT),
    Column("检查类型", TEXT),
    Column("检查人", TEXT),
    Column("状态", TEXT),
    Column("检查结论", TEXT),
    Column("发现问题数"),
]


def _detail_values(row: Any) -> list[Any]:
    """One exported line, read off the query row the API's ``DetailOut`` is made from (no
    model per row: a year of a 分行 is thousands of them)."""
    return [
        row.id,
        row.submitted_at,
        row.org_name,
        row.checkpoint_code,
        row.checkpoint_name,
        row.customer_name,
        KIND_ZH[str(row.kind)],
        TYPE_ZH[str(row.inspection_type)] if row.inspection_type else "未关联计划",
        row.inspector_name or "",
        STATE_ZH[str(row.state)],
        CONCLUSION_ZH.get(row.conclusion or "", ""),
        len(row.findings or []),
    ]


CONCLUSION_COLUMNS = [Column(z) for z in ("正常", "关注", "强烈关注", "退出", "无结论", "合计")]
ANOMALY_COLUMNS = [
    Column(z)
    for z in (
        "异常总数",
        "一般",
        "较重",
        "严重",
        "待处理",
        "处理中",
        "已处理",
        "逾期未受理",
        "已上报",
    )
]


def _name(title: str, org: OrgRef, window: WindowOut) -> str:
    return f"{org.name}{window.label}{title}"


async def _export_table(c: Ctx, q: ExportQuery) -> tuple[str, list[Column], AsyncIterator[Any]]:
    """Title, columns and rows of one table, built from the API's own response objects."""
    if q.table == "completion":
        report = await _completion(c, GroupedQuery(**_report_fields(q), group=q.group))
        rows = [[r.name, *_figure_values(r)] for r in report.rows]
        rows.append(["合计", *_figure_values(report.total)])
        title = _name(f"{GROUP_ZH[q.group]}完成率", report.org, report.window)
        return title, [Column(GROUP_ZH[q.group], TEXT, 20), *FIGURE_COLUMNS], export.single(rows)
    if q.table == "trend":
        trend = await _trend(c, TrendQuery(**_report_fields(q), granularity=q.granularity))
        rows = [[p.label, *_figure_values(p), p.inspections, p.anomalies] for p in trend.points]
        columns = [
            Column("期间", TEXT, 16),
            *FIGURE_COLUMNS,
            Column("提交检查"),
            Column("新增异常"),
        ]
        return _name("报表曲线", trend.org, trend.window), columns, export.single(rows)
    if q.table == "conclusions":
        report_c = await _conclusions(c, GroupedQuery(**_report_fields(q), group=q.group))
        values = [
            [r.name, r.normal, r.watch, r.close_watch, r.exit, r.none, r.total]
            for r in report_c.rows
        ]
        values += [
            [KIND_ZH[k.kind.value], k.normal, k.watch, k.close_watch, k.exit, k.none, k.total]
            for k in report_c.by_kind
        ]
        t = report_c.total
        values.append(["合计", t.normal, t.watch, t.close_watch, t.exit, t.none, t.total])
        columns = [Column(GROUP_ZH[q.group], TEXT, 20), *CONCLUSION_COLUMNS]
        return (
            _name("巡检结论统计表", report_c.org, report_c.window),
            columns,
            export.single(values),
        )
    if q.table == "anomalies":
        report_a = await _anomalies(c, GroupedQuery(**_report_fields(q), group=q.group))
        values = [[r.name, *_anomaly_row(r)] for r in report_a.rows]
        values.append(["合计", *_anomaly_row(report_a.total)])
        columns = [Column(GROUP_ZH[q.group], TEXT, 20), *ANOMALY_COLUMNS]
        return _name("异常汇总", report_a.org, report_a.window), columns, export.single(values)
    if q.table == "indicators":
        report_i = await _indicators(c, ReportQuery(**_report_fields(q)))
        values = [[r.indicator, *r.counts, r.total] for r in report_i.rows]
        values.append(["合计", *report_i.totals, report_i.total])
        columns = [
            Column("预警指标", TEXT, 24),
            *[Column(w.label) for w in report_i.columns],
            Column("合计"),
        ]
        return (
            _name("预警指标统计表", report_i.org, report_i.window),
            columns,
            export.single(values),
        )
    return await _export_details(c, q)


async def _export_details(c: Ctx, q: ExportQuery) -> tuple[str, list[Column], AsyncIterator[Any]]:
    today = local_date(utcnow())
    window = _window(q, today)
    ctx = await service.context(c.session, c.user, q.org_id)
    stream = service.stream_details(c.session, ctx, window, _filters(q), _detail_filters(q))

    async def rows() -> AsyncIterator[Sequence[Sequence[Any]]]:
        async for chunk in stream:
            yield [_detail_values(r) for r in chunk]

    return _name("检查明细", _org(ctx), _window_out(window)), DETAIL_COLUMNS, rows()


def _anomaly_row(a: Any) -> list[int]:
    return [
        a.total,
        a.low,
        a.medium,
        a.high,
        a.open,
        a.acknowledged,
        a.resolved,
        a.overdue,
        a.escalated,
    ]


def _report_fields(q: ExportQuery) -> dict[str, Any]:
    return q.model_dump(
        include={"org_id", "period", "date_from", "date_to", "kind", "inspection_type"}
    )


@api.route(
    "GET", BASE + "/export", summary="导出 Excel Export a table (.xlsx)",
    query=ExportQuery, media_type=XLSX,
)  # fmt: skip
async def export_table(ctx: Ctx, *, query: ExportQuery) -> web.StreamResponse:
    """`table`: completion / details / conclusions / anomalies / indicators / trend, with the
    same filters as that table (details: every page). Written row by row and streamed."""
    title, columns, rows = await _export_table(ctx, query)
    handle = await export.write(title[:31], columns, rows)
    name = f"{title}-{file_stamp(utcnow())}.xlsx"
    return download(handle, name=name, fallback="supervision.xlsx", content_type=XLSX)
