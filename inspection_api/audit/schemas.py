from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field

from inspection_api.audit.actions import ObjectType
from inspection_api.schemas import Input, Output


class DetailValueOut(Output):
    text: str = Field(description="the value as the page shows it")
    ref: str | None = Field(
        default=None,
        description="`kind:id` of the record the value is, when the caller may see it (a link)",
    )


class DetailChangeOut(Output):
    field: str = Field(description="the field of the edit, as recorded")
    label: str = Field(description="the field in Chinese (as recorded when it has no label)")
    before: DetailValueOut | None = Field(
        default=None, description="the old value (null: only the new one was recorded)"
    )
    after: DetailValueOut = Field(description="the new value")
    text: str = Field(description="「label before → after」, or 「label after」")


class DetailPartOut(Output):
    key: str = Field(description="the detail key, as recorded")
    label: str = Field(description="what it is, in Chinese (the key when it has no label)")
    text: str = Field(description="its value as the page shows it (an edit: its changes)")
    ref: str | None = Field(
        default=None,
        description="`kind:id` of the record the value is, when the caller may see it (a link)",
    )
    changes: list[DetailChangeOut] | None = Field(
        default=None, description="an edit's fields (the `changes` key only)"
    )


class AuditOut(Output):
    id: int
    at: datetime
    action: str
    action_label: str = Field(default="", description="操作类型 as a person reads it")
    actor_user_id: int | None
    actor_username: str
    ip: str
    user_agent: str
    detail: dict[str, Any]
    actor_name: str | None = Field(
        default=None, description="the actor's 姓名 (null: no account, or outside the jurisdiction)"
    )
    names: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "what the records the detail refers to by id are called, keyed `kind:id` "
            "(checkpoint, inspection, anomaly, rectification, plan, rule, template, user, org); "
            "a record outside the caller's jurisdiction has none"
        ),
    )
    refs: dict[str, str] = Field(
        default_factory=dict,
        description="the detail keys (also inside `changes`) that hold a record's id → its kind",
    )
    detail_parts: list[DetailPartOut] = Field(
        default_factory=list,
        description=(
            "the detail as a person reads it, in its order: each part 「label：text」, the parts "
            "joined by 「；」 (the export's 详情 is that line); records by name (检查记录 #12, "
            "`#5` outside the jurisdiction), codes by label, an edit's changes 「旧 → 新」; a key "
            "or value without a label as recorded"
        ),
    )


class AuditFilterQuery(Input):
    """Filters (all optional, all inside the caller's jurisdiction): the export's query."""

    date_from: date | None = Field(default=None, description="from this day, Beijing (inclusive)")
    date_to: date | None = Field(default=None, description="up to this day, Beijing (inclusive)")
    actor_user_id: int | None = Field(default=None, ge=1, description="操作人: events by this user")
    action: str | None = Field(
        default=None, max_length=64, description="操作类型: one of GET /audit-events/actions"
    )
    object_type: ObjectType | None = Field(
        default=None, description="对象类型: events about this kind of record"
    )


class AuditQuery(AuditFilterQuery):
    """The filters and the page."""

    before_id: int | None = Field(default=None, ge=1, description="page: events older than this id")
    limit: int = Field(default=100, ge=1, le=500)


class AuditActionOut(Output):
    action: str
    label: str = Field(description="操作类型 in Chinese")
    object_type: ObjectType
    object_label: str = Field(description="对象类型 in Chinese")
