from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from inspection_api.inspections.models import InspectionKind, InspectionState
from inspection_api.plans.models import InspectionType
from inspection_api.schemas import Input, Output, Page
from inspection_api.supervision.repository import GroupBy
from inspection_api.supervision.window import PERIOD, Granularity

Conclusion = Literal["normal", "watch", "close_watch", "exit"]
CONCLUSIONS: tuple[Conclusion, ...] = ("normal", "watch", "close_watch", "exit")


class ReportQuery(Input):
    """Which org (default: mine) and which days: ``period`` or ``date_from``–``date_to``."""

    org_id: int | None = Field(default=None, description="an org of my jurisdiction (its subtree)")
    period: str | None = Field(
        default=None,
        pattern=PERIOD.pattern,
        description="2026 (year), 2026-Q2 (quarter) or 2026-03 (month); default: this month",
    )
    date_from: date | None = Field(default=None, description="custom range: first day")
    date_to: date | None = Field(default=None, description="custom range: last day (inclusive)")
    kind: InspectionKind | None = Field(
        default=None, description="on_site 现场检查 / remote 远程巡检 / self_check 企业自检"
    )
    inspection_type: InspectionType | None = Field(
        default=None, description="检查类型: existing 存量 / new 新增 (the plan's)"
    )


class GroupedQuery(ReportQuery):
    group: GroupBy = Field(
        default=GroupBy.CHILD,
        description="child: the orgs right below (drill-down) / sub_branch: every 支行 / "
        "checkpoint: every checkpoint",
    )


class TrendQuery(ReportQuery):
    granularity: Granularity = Field(
        default=Granularity.MONTH, description="month / quarter / year"
    )


class DetailQuery(ReportQuery):
    checkpoint_id: int | None = None
    state: InspectionState | None = Field(
        default=None, description="submitted / approved / returned"
    )
    conclusion: Conclusion | None = None
    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=50, ge=1, le=200)


class OverviewQuery(ReportQuery):
    group: Literal["child", "sub_branch"] = Field(
        default="child",
        description="rows of the org tables: child, the orgs right below (a 支行 with none "
        "below it: its checkpoints in the completion table) / sub_branch: every 支行",
    )
    checkpoint_id: int | None = Field(default=None, description="检查明细 of this checkpoint")
    limit: int = Field(default=20, ge=1, le=200, description="检查明细: the first page's size")


ExportTable = Literal["completion", "details", "conclusions", "anomalies", "indicators", "trend"]


class ExportQuery(DetailQuery):
    table: ExportTable = Field(description="which table to export")
    group: GroupBy = GroupBy.CHILD
    granularity: Granularity = Granularity.MONTH


class OrgRef(Output):
    id: int
    name: str
    kind: str
    path: list[OrgRef] = Field(default_factory=list, description="from my org down to it")


class WindowOut(Output):
    start: date
    end: date
    label: str = Field(description="2026年 / 2026年第2季度 / 2026年3月 / a range")


class Figures(Output):
    due: int = Field(description="应检任务: tasks due in the window whose period has begun")
    done: int = Field(description="已完成")
    covered_by_history: int = Field(description="of done: covered by an earlier valid inspection")
    overdue: int = Field(description="逾期: period ended, not done")
    completion_rate: float | None = Field(description="完成率 = done ÷ due (null: nothing due)")
    checkpoints_due: int = Field(description="检查点 with a task due in the window")
    checkpoints_covered: int = Field(description="of those, with at least one task done")
    coverage_rate: float | None = Field(description="覆盖率 = covered ÷ due checkpoints")


class GroupRef(Output):
    id: int
    name: str
    kind: str = Field(description="province / branch / sub_branch, or checkpoint")
    code: str = ""
    drill: Literal["org", "checkpoint", "inspections"] = Field(
        description="what opening the row shows: its orgs, its checkpoints, its inspections"
    )


class CompletionRow(GroupRef, Figures):
    pass


class CompletionReport(Output):
    org: OrgRef
    window: WindowOut
    group: GroupBy
    today: date
    rows: list[CompletionRow]
    total: Figures


class TrendPoint(Figures):
    start: date
    end: date
    label: str
    inspections: int = Field(description="inspections submitted")
    anomalies: int = Field(description="anomalies raised")


class TrendReport(Output):
    org: OrgRef
    window: WindowOut
    granularity: Granularity
    points: list[TrendPoint]


class ConclusionCounts(Output):
    normal: int = 0
    watch: int = 0
    close_watch: int = 0
    exit: int = 0
    none: int = Field(default=0, description="submitted without a conclusion")
    total: int = 0


class ConclusionRow(GroupRef, ConclusionCounts):
    pass


class ConclusionKindRow(ConclusionCounts):
    kind: InspectionKind


class ConclusionReport(Output):
    org: OrgRef
    window: WindowOut
    group: GroupBy
    rows: list[ConclusionRow]
    by_kind: list[ConclusionKindRow]
    total: ConclusionCounts


class AnomalyFigures(Output):
    total: int = 0
    low: int = 0
    medium: int = 0
    high: int = 0
    open: int = 0
    acknowledged: int = 0
    resolved: int = 0
    overdue: int = Field(default=0, description="open past its deadline")
    escalated: int = Field(default=0, description="已上报")


class AnomalyRow(GroupRef, AnomalyFigures):
    pass


class AnomalyReport(Output):
    org: OrgRef
    window: WindowOut
    group: GroupBy
    rows: list[AnomalyRow]
    total: AnomalyFigures


class IndicatorRow(Output):
    indicator: str = Field(description="预警指标")
    counts: list[int] = Field(description="per column of `columns`")
    total: int


class IndicatorReport(Output):
    org: OrgRef
    window: WindowOut
    columns: list[WindowOut] = Field(description="the window's quarters")
    rows: list[IndicatorRow]
    totals: list[int]
    total: int


class DetailOut(Output):
    id: int
    submitted_at: datetime
    started_at: datetime
    kind: InspectionKind
    state: InspectionState
    conclusion: str | None
    inspection_type: InspectionType | None = Field(description="null: did no plan's task")
    org_id: int
    org_name: str
    checkpoint_id: int
    checkpoint_code: str
    checkpoint_name: str
    customer_name: str
    inspector_name: str
    findings: int = Field(description="findings at submission (rules and flags)")


class DetailPage(Page[DetailOut]):
    org: OrgRef
    window: WindowOut


class Overview(Output):
    """实时监管 at first paint: each part as its own endpoint answers the same query."""

    org: OrgRef
    window: WindowOut
    today: date
    group: GroupBy = Field(
        description="the completion table's rows: the group asked for, or checkpoint for an "
        "org with no org below it"
    )
    completion: CompletionReport = Field(description="as /completion with `group` above")
    trend: TrendReport = Field(
        description="as /trend per month over the window when it spans more than 100 days, "
        "else over the 12 months ending with its last month"
    )
    anomalies: AnomalyReport = Field(description="as /anomalies with the `group` asked for")
    indicators: IndicatorReport = Field(description="as /indicators")
    conclusions: ConclusionReport = Field(description="as /conclusions with the `group` asked for")
    details: DetailPage = Field(description="as /inspections from offset 0 with `limit`")
