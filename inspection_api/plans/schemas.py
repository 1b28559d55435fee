from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from inspection_api.auth.principal import Role
from inspection_api.orgs.models import OrgKind
from inspection_api.plans.generator import ExitUnit, Frequency, MonthRule, TaskKind, ValidityUnit
from inspection_api.plans.models import InspectionType, TaskState
from inspection_api.schemas import Input, Output, Page, PagedQuery

COUNT_MAX = 366


class RuleFields(Input):
    """The bank's 全局规则 form."""

    name: str = Field(min_length=1, max_length=100, description="规则名称")
    org_kind: OrgKind = Field(
        description="机构类型: province 省行 / branch 二级分行 / sub_branch 支行"
    )
    auto_join: bool = Field(
        default=False, description="自动加入: a new org of this kind gets a plan at creation"
    )
    frequency: Frequency = Field(description="计划频次: year 按年 / month 按月 / day 按天")
    interval: int = Field(default=1, ge=1, le=COUNT_MAX, description="时间间隔 (every N)")
    inspection_type: InspectionType = Field(
        default=InspectionType.EXISTING, description="检查类型: existing 存量 / new 新增"
    )
    validity: int = Field(default=0, ge=0, le=COUNT_MAX, description="历史检查有效期")
    validity_unit: ValidityUnit = Field(default=ValidityUnit.MONTH, description="有效期单位")
    start_date: date = Field(description="开始时间")
    end_date: date | None = Field(default=None, description="结束时间 (empty: open-ended)")
    exit_rule: MonthRule = Field(
        default=MonthRule.THIS_MONTH,
        description="退出规则: this_month 当月停止 (the exit date's period has no regular task) "
        "/ next_month 次月停止 (that period keeps it; none after), for periods of any length",
    )
    exit_interval: int = Field(default=0, ge=0, le=COUNT_MAX, description="退出点检查频率")
    exit_unit: ExitUnit = Field(
        default=ExitUnit.MONTH, description="退出点频率单位: month 月 / day 天"
    )
    exit_count: int = Field(default=0, ge=0, le=100, description="退出点检查次数")
    first_rule: MonthRule = Field(
        default=MonthRule.NEXT_MONTH,
        description="首巡开始规则: this_month 当月首巡 / next_month 次月首巡",
    )


class RuleCreate(RuleFields):
    org_id: int | None = Field(default=None, description="owning org (default: mine)")


class RuleUpdate(Input):
    """Only the fields sent change."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    org_kind: OrgKind | None = None
    auto_join: bool | None = None
    frequency: Frequency | None = None
    interval: int | None = Field(default=None, ge=1, le=COUNT_MAX)
    inspection_type: InspectionType | None = None
    validity: int | None = Field(default=None, ge=0, le=COUNT_MAX)
    validity_unit: ValidityUnit | None = None
    start_date: date | None = None
    end_date: date | None = None
    exit_rule: MonthRule | None = None
    exit_interval: int | None = Field(default=None, ge=0, le=COUNT_MAX)
    exit_unit: ExitUnit | None = None
    exit_count: int | None = Field(default=None, ge=0, le=100)
    first_rule: MonthRule | None = None


class RuleOut(Output):
    id: int
    org_id: int
    org_name: str
    name: str
    org_kind: OrgKind
    auto_join: bool
    frequency: Frequency
    interval: int
    inspection_type: InspectionType
    validity: int
    validity_unit: ValidityUnit
    start_date: date
    end_date: date | None
    exit_rule: MonthRule
    exit_interval: int
    exit_unit: ExitUnit
    exit_count: int
    first_rule: MonthRule
    plan_count: int = Field(description="plans using this rule")
    editable: bool = Field(description="whether I may change it")
    created_at: datetime
    updated_at: datetime


class PlanCreate(Input):
    rule_id: int = Field(description="全局规则")
    org_ids: list[int] = Field(
        min_length=1,
        max_length=300,
        description="one plan per org: the province, a 分行 or 支行 (all at once or one by one)",
    )
    name: str | None = Field(default=None, max_length=100, description="default: rule + org name")
    start_date: date | None = Field(default=None, description="default: the rule's 开始时间")
    end_date: date | None = Field(default=None, description="default: the rule's 结束时间")
    checklist_template_id: int | None = Field(default=None, ge=1, description="检查模板 (id)")
    executor_role: Role = Field(default=Role.INSPECTOR, description="who carries out its tasks")


class PlanUpdate(Input):
    """Only the fields sent change; future tasks not yet started are regenerated."""

    rule_id: int | None = None
    name: str | None = Field(default=None, min_length=1, max_length=100)
    start_date: date | None = None
    end_date: date | None = None
    checklist_template_id: int | None = Field(default=None, ge=1)
    executor_role: Role | None = None


class PlanOut(Output):
    id: int
    rule_id: int
    rule_name: str
    org_id: int
    org_name: str
    org_kind: OrgKind
    name: str
    start_date: date
    end_date: date | None
    checklist_template_id: int | None
    executor_role: Role
    auto_created: bool
    editable: bool
    created_at: datetime
    updated_at: datetime


class PlanList(Output):
    items: list[PlanOut]


class PlanQuery(Input):
    org_id: int | None = Field(default=None, description="plans set on this org or below it")


class PreviewIn(Input):
    """A plan before saving: a saved rule (``rule_id``) or the rule form being edited."""

    rule_id: int | None = None
    rule: RuleFields | None = None
    org_ids: list[int] = Field(min_length=1, max_length=300)
    start_date: date | None = None
    end_date: date | None = None
    plan_id: int | None = Field(default=None, description="the plan being edited, if any")
    months: int = Field(default=12, ge=1, le=36, description="how far ahead to look")


class PreviewPeriod(Output):
    period_start: date
    period_end: date
    kind: TaskKind
    count: int
    due_now: bool = Field(description="begun by today: created as soon as the plan is saved")


class PreviewTask(Output):
    checkpoint_id: int
    checkpoint_code: str
    checkpoint_name: str
    org_name: str
    period_start: date
    period_end: date
    kind: TaskKind


class PreviewOut(Output):
    today: date
    until: date
    checkpoints: int = Field(description="checkpoints in the orgs chosen")
    overridden: int = Field(description="of those, governed by a more specific plan throughout")
    total: int
    due_now: int
    removed: int = Field(
        description="open tasks (pending, not started, period not over) of these orgs that "
        "saving deletes because no plan requires them any more; started and done ones stay"
    )
    periods: list[PreviewPeriod]
    sample: list[PreviewTask]


class TaskQuery(PagedQuery):
    mine: bool = Field(
        default=False,
        description="assigned to me, or unassigned in my jurisdiction for a role of mine",
    )
    org_id: int | None = Field(default=None, description="this org and its descendants")
    state: TaskState | None = None
    open: bool = Field(default=False, description="only tasks not done yet")
    plan_id: int | None = None
    checkpoint_id: int | None = None
    period_from: date | None = Field(default=None, description="periods ending after this day")
    period_to: date | None = Field(default=None, description="periods starting by this day")


class TaskOut(Output):
    id: int
    plan_id: int
    plan_name: str
    checklist_template_id: int | None = Field(
        description="the plan's own checklist template; null: the default 明白纸"
    )
    executor_role: Role
    checkpoint_id: int
    checkpoint_code: str
    checkpoint_name: str
    customer_name: str
    org_id: int
    org_name: str
    kind: TaskKind
    period_start: date
    period_end: date = Field(description="exclusive")
    due_date: date = Field(description="the period's last day")
    state: TaskState
    assignee_user_id: int | None
    assignee_name: str | None
    started_at: datetime | None
    completed_at: datetime | None
    inspection_id: int | None
    covered_by_inspection_id: int | None


class TaskPage(Page[TaskOut]):
    today: date = Field(description="Beijing calendar day the states were computed for")


class AssignIn(Input):
    assignee_user_id: int | None = Field(description="null: back to everyone of the 支行")


class ProgressRow(Output):
    org_id: int
    org_name: str
    pending: int
    in_progress: int
    done: int
    overdue: int
    due: int = Field(description="tasks whose period has begun")
    completion_rate: float | None = Field(description="done ÷ due; null when nothing is due")


class ProgressOut(Output):
    plan_id: int
    today: date
    rows: list[ProgressRow]
    total: ProgressRow
