"""Inspection plans (检查计划): global rules, plans per org, and the tasks they generate."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from inspection_api.auth.principal import Role
from inspection_api.db import Base, UTCDateTime, str_enum, utcnow
from inspection_api.orgs.models import OrgKind
from inspection_api.plans.generator import (
    ExitUnit,
    Frequency,
    MonthRule,
    Schedule,
    TaskKind,
    ValidityUnit,
    Window,
)


class InspectionType(StrEnum):
    """检查类型."""

    EXISTING = "existing"  # 存量
    NEW = "new"  # 新增


class TaskState(StrEnum):
    """What the API shows. The table stores the first three; overdue is computed: the period
    has ended (Beijing time) and the task is not done."""

    PENDING = "pending"  # 待检查
    IN_PROGRESS = "in_progress"  # 进行中
    DONE = "done"  # 已完成
    OVERDUE = "overdue"  # 逾期


STATE_LABELS: dict[TaskState, tuple[str, str]] = {
    TaskState.PENDING: ("待检查", "pending"),
    TaskState.IN_PROGRESS: ("进行中", "in progress"),
    TaskState.DONE: ("已完成", "done"),
    TaskState.OVERDUE: ("逾期", "overdue"),
}


class ScheduleColumns:
    """The scheduling fields of the bank's 全局规则 form."""

    frequency: Mapped[Frequency] = mapped_column(str_enum(Frequency, 24))  # 计划频次
    interval: Mapped[int] = mapped_column(Integer)  # 时间间隔
    validity: Mapped[int] = mapped_column(Integer)  # 历史检查有效期
    validity_unit: Mapped[ValidityUnit] = mapped_column(str_enum(ValidityUnit, 24))  # 有效期单位
    exit_rule: Mapped[MonthRule] = mapped_column(str_enum(MonthRule, 24))  # 退出规则
    exit_interval: Mapped[int] = mapped_column(Integer)  # 退出点检查频率
    exit_unit: Mapped[ExitUnit] = mapped_column(str_enum(ExitUnit, 24))  # 退出点频率单位
    exit_count: Mapped[int] = mapped_column(Integer)  # 退出点检查次数
    first_rule: Mapped[MonthRule] = mapped_column(str_enum(MonthRule, 24))  # 首巡开始规则

    def schedule(self) -> Schedule:
        return Schedule(
            frequency=self.frequency,
            interval=self.interval,
            validity=self.validity,
            validity_unit=self.validity_unit,
            exit_rule=self.exit_rule,
            exit_interval=self.exit_interval,
            exit_unit=self.exit_unit,
            exit_count=self.exit_count,
            first_rule=self.first_rule,
        )


class PlanRule(ScheduleColumns, Base):
    """全局规则: how often checkpoints of orgs of one kind are inspected. Owned by an org (its
    administrators edit it); plans of that org and the orgs below it may use it."""

    __tablename__ = "plan_rules"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)  # owner
    name: Mapped[str] = mapped_column(String(100))  # 规则名称
    org_kind: Mapped[OrgKind] = mapped_column(str_enum(OrgKind, 24))  # 机构类型
    auto_join: Mapped[bool] = mapped_column(Boolean)  # 自动加入 (new orgs of that kind)
    inspection_type: Mapped[InspectionType] = mapped_column(
        str_enum(InspectionType, 24)
    )  # 检查类型
    start_date: Mapped[date] = mapped_column(Date)  # 开始时间
    end_date: Mapped[date | None] = mapped_column(Date)  # 结束时间
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def window(self) -> Window:
        return Window(self.start_date, self.end_date)


class Plan(Base):
    """检查计划: a rule applied to the checkpoints of one org and the orgs below it, between
    two dates. A deeper org's plan overrides it for that org's checkpoints."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("plan_rules.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    # The checklist template inspectors fill in; the checklists domain adds the foreign key.
    checklist_template_id: Mapped[int | None] = mapped_column(Integer)
    executor_role: Mapped[Role] = mapped_column(str_enum(Role, 24))  # who carries out its tasks
    auto_created: Mapped[bool] = mapped_column(Boolean, default=False)  # by 自动加入
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def window(self) -> Window:
        return Window(self.start_date, self.end_date)


class InspectionRecord(Base):
    """An inspection the plans were told of (``complete_tasks``): 历史检查有效期 counts from
    the latest one of a checkpoint, also for tasks generated after it."""

    __tablename__ = "plan_inspection_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(
        ForeignKey("checkpoints.id", ondelete="CASCADE"), index=True
    )
    inspection_id: Mapped[int] = mapped_column(Integer)  # the inspections domain's id
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Task(Base):
    """检查任务: one checkpoint to inspect in one period of one plan."""

    __tablename__ = "plan_tasks"
    __table_args__ = (
        # Generation is idempotent: a period of a plan exists once per checkpoint.
        UniqueConstraint("checkpoint_id", "plan_id", "period_start"),
        # "Due and overdue in my org": org, open or done, by period end.
        Index("ix_plan_tasks_org_state_end", "org_id", "state", "period_end"),
        Index("ix_plan_tasks_plan_state", "plan_id", "state"),
        # 实时监管: the tasks due in a window, org by org, from the index alone.
        Index(
            "ix_plan_tasks_org_end_report",
            "org_id",
            "period_end",
            "period_start",
            "state",
            "checkpoint_id",
            "inspection_id",
        ),
        Index("ix_plan_tasks_inspection_id", "inspection_id"),  # an inspection's 检查类型
        # "Mine": only assigned tasks are looked up by assignee, and generated ones never
        # are; leaving them out spares an index entry per generated row.
        Index(
            "ix_plan_tasks_assignee_user_id",
            "assignee_user_id",
            postgresql_where=text("assignee_user_id IS NOT NULL"),
            sqlite_where=text("assignee_user_id IS NOT NULL"),
        ),
    )

    # Three columns without a foreign key: the database checks a foreign key on each row
    # inserted, and a bulk generation (bench/task_generation.py) spent most of its server
    # time in those checks. Integrity holds in code instead: a plan is deleted in one place
    # (``service.delete_plan``), which deletes its tasks first under the generator lock, so
    # no run can add one in between; orgs and users are never deleted (users are
    # deactivated; ``tasks.assign`` checks the user). The checkpoint keeps its foreign key:
    # another domain deletes checkpoints, outside the generator lock, and the cascade takes
    # their tasks with them.
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(Integer)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("checkpoints.id", ondelete="CASCADE"))
    # The checkpoint's 支行 when the task was due; open tasks follow a checkpoint that moves.
    org_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[TaskKind] = mapped_column(str_enum(TaskKind, 24))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # exclusive: due by the day before
    state: Mapped[TaskState] = mapped_column(str_enum(TaskState, 24))  # pending/in_progress/done
    assignee_user_id: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The inspection that did it, or (历史检查有效期) an earlier one still valid.
    inspection_id: Mapped[int | None] = mapped_column(Integer)
    covered_by_inspection_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
