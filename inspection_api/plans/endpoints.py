"""Plans over REST: global rules (全局规则), plans (检查计划) with a preview of their tasks and
their progress, and the task lists (检查任务) with assignment."""

from __future__ import annotations

from datetime import date, timedelta

from inspection_api.auth.endpoints import origin_of
from inspection_api.auth.permissions import Permission, permissions_of
from inspection_api.db import utcnow
from inspection_api.orgs.models import Org
from inspection_api.plans import service
from inspection_api.plans.generator import local_date
from inspection_api.plans.models import Plan, PlanRule
from inspection_api.plans.repository import Counts, TaskRow, shown_state
from inspection_api.plans.schemas import (
    AssignIn,
    PlanCreate,
    PlanList,
    PlanOut,
    PlanQuery,
    PlanUpdate,
    PreviewIn,
    PreviewOut,
    ProgressOut,
    ProgressRow,
    RuleCreate,
    RuleOut,
    RuleUpdate,
    TaskOut,
    TaskPage,
    TaskQuery,
)
from inspection_api.web.routing import ApiRoutes, Ctx

api = ApiRoutes(tag="plans")

RULES = "/api/v1/plan-rules"
PLANS = "/api/v1/plans"
TASKS = "/api/v1/tasks"
_RULE_FIELDS = set(RuleOut.model_fields) - {"org_name", "plan_count", "editable"}
_PLAN_FIELDS = set(PlanOut.model_fields) - {"rule_name", "org_name", "org_kind", "editable"}


def _rule_out(ctx: Ctx, rule: PlanRule, org: Org, used: int) -> RuleOut:
    own = {name: getattr(rule, name) for name in _RULE_FIELDS}
    editable = _manages(ctx, org)
    return RuleOut(**own, org_name=org.name, plan_count=used, editable=editable)


def _plan_out(ctx: Ctx, plan: Plan, rule: PlanRule, org: Org) -> PlanOut:
    own = {name: getattr(plan, name) for name in _PLAN_FIELDS}
    editable = _manages(ctx, org)
    return PlanOut(
        **own, rule_name=rule.name, org_name=org.name, org_kind=org.kind, editable=editable
    )


def _manages(ctx: Ctx, org: Org) -> bool:
    """Whether the caller may change a rule or plan of ``org``."""
    return Permission.PLAN_MANAGE in permissions_of(ctx.user) and ctx.user.governs(org.path)


def _task_out(row: TaskRow, today: date) -> TaskOut:
    task, plan, checkpoint, org, assignee = row
    return TaskOut(
        id=task.id,
        plan_id=plan.id,
        plan_name=plan.name,
        checklist_template_id=plan.checklist_template_id,
        executor_role=plan.executor_role,
        checkpoint_id=checkpoint.id,
        checkpoint_code=checkpoint.code,
        checkpoint_name=checkpoint.name,
        customer_name=checkpoint.customer_name,
        org_id=org.id,
        org_name=org.name,
        kind=task.kind,
        period_start=task.period_start,
        period_end=task.period_end,
        due_date=task.period_end - timedelta(days=1),
        state=shown_state(task, today),
        assignee_user_id=task.assignee_user_id,
        assignee_name=assignee,
        started_at=task.started_at,
        completed_at=task.completed_at,
        inspection_id=task.inspection_id,
        covered_by_inspection_id=task.covered_by_inspection_id,
    )


# ---- rules ----


@api.route("GET", RULES, summary="全局规则 Global rules", response=list[RuleOut])
async def list_plan_rules(ctx: Ctx) -> list[RuleOut]:
    """Rules of my org, of the orgs above it (they reach my checkpoints) and below it."""
    rows = await service.list_rules(ctx.session, ctx.user)
    return [_rule_out(ctx, rule, org, used) for rule, org, used in rows]


@api.route(
    "POST",
    RULES,
    summary="添加全局规则 Add a global rule",
    body=RuleCreate,
    response=RuleOut,
    status=201,
    problems={409: "The name is taken in that org"},
)
async def create_plan_rule(ctx: Ctx, *, body: RuleCreate) -> RuleOut:
    """The bank's form: 机构类型, 规则名称, 自动加入, 计划频次 × 时间间隔, 检查类型, 历史检查有效期,
    开始/结束时间, 退出规则, 退出点检查频率/单位/次数, 首巡开始规则."""
    rule, org = await service.create_rule(ctx.session, ctx.user, body, origin=origin_of(ctx))
    return _rule_out(ctx, rule, org, 0)


@api.route("GET", RULES + "/{rule_id}", summary="规则详情 One rule", response=RuleOut)
async def get_plan_rule(ctx: Ctx, *, rule_id: int) -> RuleOut:
    rule, org, used = await service.get_rule(ctx.session, ctx.user, rule_id)
    return _rule_out(ctx, rule, org, used)


@api.route(
    "PATCH",
    RULES + "/{rule_id}",
    summary="修改规则 Edit a rule",
    body=RuleUpdate,
    response=RuleOut,
    problems={409: "The name is taken in that org"},
)
async def update_plan_rule(ctx: Ctx, *, rule_id: int, body: RuleUpdate) -> RuleOut:
    """The plans using it regenerate their open tasks at once (started, done and overdue
    tasks stay as they are)."""
    rule, org, used = await service.update_rule(
        ctx.session, ctx.user, rule_id, body, origin=origin_of(ctx)
    )
    return _rule_out(ctx, rule, org, used)


@api.route(
    "DELETE",
    RULES + "/{rule_id}",
    summary="删除规则 Delete a rule",
    problems={409: "Plans use it (rule_in_use)"},
)
async def delete_plan_rule(ctx: Ctx, *, rule_id: int) -> None:
    await service.delete_rule(ctx.session, ctx.user, rule_id, origin=origin_of(ctx))


# ---- plans ----


@api.route("GET", PLANS, summary="检查计划 Plans", query=PlanQuery, response=PlanList)
async def list_plans(ctx: Ctx, *, query: PlanQuery) -> PlanList:
    """Plans that apply to my checkpoints (set on my org or above) and those below it."""
    rows = await service.list_plans(ctx.session, ctx.user, org_id=query.org_id)
    return PlanList(items=[_plan_out(ctx, *row) for row in rows])


@api.route(
    "POST",
    PLANS,
    summary="新建检查计划 Create plans",
    body=PlanCreate,
    response=PlanList,
    status=201,
    problems={409: "An org already has a plan in those dates (plan_overlap)"},
)
async def create_plans(ctx: Ctx, *, body: PlanCreate) -> PlanList:
    """One plan per org of `org_ids` (省行, 分行 or 支行; all or none). A deeper org's plan
    overrides a broader one for its checkpoints. The tasks due by today exist on return."""
    rows = await service.create_plans(ctx.session, ctx.user, body, origin=origin_of(ctx))
    return PlanList(items=[_plan_out(ctx, *row) for row in rows])


@api.route(
    "POST",
    PLANS + "/preview",
    summary="预览检查任务 Preview the tasks of a plan",
    body=PreviewIn,
    response=PreviewOut,
)
async def preview_plan(ctx: Ctx, *, body: PreviewIn) -> PreviewOut:
    """Before saving: the tasks a saved rule (`rule_id`) or the rule being edited (`rule`)
    would generate for the checkpoints of `org_ids` over the next `months`, per period,
    with a sample. More specific plans already in force still override it."""
    return await service.preview(ctx.session, ctx.user, body)


@api.route("GET", PLANS + "/{plan_id}", summary="计划详情 One plan", response=PlanOut)
async def get_plan(ctx: Ctx, *, plan_id: int) -> PlanOut:
    return _plan_out(ctx, *await service.get_plan(ctx.session, ctx.user, plan_id))


@api.route(
    "PATCH",
    PLANS + "/{plan_id}",
    summary="修改检查计划 Edit a plan",
    body=PlanUpdate,
    response=PlanOut,
    problems={409: "The new dates overlap another plan of the org (plan_overlap)"},
)
async def update_plan(ctx: Ctx, *, plan_id: int, body: PlanUpdate) -> PlanOut:
    """Open tasks whose period has not ended are regenerated; started, done and overdue
    tasks stay."""
    row = await service.update_plan(ctx.session, ctx.user, plan_id, body, origin=origin_of(ctx))
    return _plan_out(ctx, *row)


@api.route(
    "DELETE",
    PLANS + "/{plan_id}",
    summary="删除检查计划 Delete a plan",
    problems={409: "Some of its tasks were started or done (plan_in_use)"},
)
async def delete_plan(ctx: Ctx, *, plan_id: int) -> None:
    await service.delete_plan(ctx.session, ctx.user, plan_id, origin=origin_of(ctx))


def _progress_row(org_id: int, name: str, counts: Counts) -> ProgressRow:
    return ProgressRow(
        org_id=org_id,
        org_name=name,
        pending=counts.pending,
        in_progress=counts.in_progress,
        done=counts.done,
        overdue=counts.overdue,
        due=counts.due,
        completion_rate=counts.completion_rate,
    )


@api.route("GET", PLANS + "/{plan_id}/progress", summary="计划进度 Progress", response=ProgressOut)
async def plan_progress(ctx: Ctx, *, plan_id: int) -> ProgressOut:
    """Task counts by state per 支行 of my jurisdiction; completion rate = done ÷ due (tasks
    whose period has begun)."""
    rows, total, today = await service.progress(ctx.session, ctx.user, plan_id)
    plan, _rule, org = await service.get_plan(ctx.session, ctx.user, plan_id)
    return ProgressOut(
        plan_id=plan.id,
        today=today,
        rows=[_progress_row(*row) for row in rows],
        total=_progress_row(org.id, org.name, total),
    )


# ---- tasks ----


@api.route("GET", TASKS, summary="检查任务 Tasks", query=TaskQuery, response=TaskPage)
async def list_tasks(ctx: Ctx, *, query: TaskQuery) -> TaskPage:
    """Overdue first, then by due date. `mine=true`: assigned to me or unassigned for a
    role of mine (我的任务); `open=true`: not done; `state`: pending / in_progress / done /
    overdue; `period_from`/`period_to`: periods overlapping those days."""
    rows, total, today = await service.list_tasks(ctx.session, ctx.user, query)
    return TaskPage.of([_task_out(row, today) for row in rows], total, query, today=today)


@api.route("GET", TASKS + "/{task_id}", summary="任务详情 One task", response=TaskOut)
async def get_task(ctx: Ctx, *, task_id: int) -> TaskOut:
    row = await service.get_task(ctx.session, ctx.user, task_id)
    return _task_out(row, local_date(utcnow()))


@api.route(
    "POST",
    TASKS + "/{task_id}/assign",
    summary="分派任务 Assign a task",
    body=AssignIn,
    response=TaskOut,
    problems={409: "The task is done (task_done)"},
)
async def assign_task(ctx: Ctx, *, task_id: int, body: AssignIn) -> TaskOut:
    """To a user of the plan's role who can see the task, or `null`: back to everyone of
    the 支行 (the default)."""
    row = await service.assign(
        ctx.session, ctx.user, task_id, body.assignee_user_id, origin=origin_of(ctx)
    )
    return _task_out(row, local_date(utcnow()))
