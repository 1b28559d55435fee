from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from inspection_api.anomalies.models import AnomalyEventKind, AnomalySource, AnomalyState
from inspection_api.checklists.content import Severity
from inspection_api.schemas import Input, Output, Page, PagedQuery


class AnomalyOut(Output):
    id: int
    org_id: int = Field(description="the checkpoint's 支行")
    org_name: str
    checkpoint_id: int
    checkpoint_code: str
    checkpoint_name: str
    customer_name: str
    inspection_id: int | None
    item_key: str = Field(description="the checklist item; empty when not about one item")
    item_label: str
    section: str
    indicator: str = Field(description="预警指标")
    severity: Severity = Field(description="low 一般 / medium 较重 / high 严重")
    answer: Any = Field(description="the item's answer (JSON) that set the rule off")
    source: AnomalySource = Field(description="rule 规则触发 / inspector 检查员标记")
    note: str
    state: AnomalyState = Field(description="open 待处理 / acknowledged 处理中 / resolved 已处理")
    escalated: bool = Field(description="已上报: escalated at least once past a deadline")
    escalation_level: int
    escalated_at: datetime | None
    handler_org_id: int | None = Field(
        description="the org whose exception handlers it is routed to (null: none found)"
    )
    handler_org_name: str | None
    deadline: datetime | None = Field(description="escalated when still open at this time")
    overdue: bool = Field(description="open and past its deadline")
    created_at: datetime
    raised_by_user_id: int | None
    acknowledged_at: datetime | None
    acknowledged_by_user_id: int | None
    resolved_at: datetime | None
    resolved_by_user_id: int | None
    resolution: str = Field(description="处理结果")
    updated_at: datetime


class AnomalyEventOut(Output):
    id: int
    at: datetime
    kind: AnomalyEventKind = Field(
        description="raised 发现异常 / acknowledged 受理 / resolved 处理完成 / reassigned 转派 / "
        "escalated 超期上报 / overdue 超期（无上级处理人）"
    )
    actor_user_id: int | None
    actor_name: str = Field(description="empty: the platform (escalation)")
    from_org_id: int | None
    from_org_name: str | None
    to_org_id: int | None
    to_org_name: str | None
    comment: str


class ReassignTargetOut(Output):
    org_id: int
    org_name: str
    handlers: int = Field(description="number of exception handlers there")


class AnomalyDetailOut(AnomalyOut):
    events: list[AnomalyEventOut]
    can_handle: bool = Field(description="the caller may acknowledge, resolve and reassign")
    reassign_targets: list[ReassignTargetOut]


class AnomalyPage(Page[AnomalyOut]):
    """A page of anomalies."""


class AnomalyQuery(PagedQuery):
    org_id: int | None = Field(default=None, description="only this org and its descendants")
    state: AnomalyState | None = None
    severity: Severity | None = None
    source: AnomalySource | None = None
    checkpoint_id: int | None = None
    inspection_id: int | None = None
    handler_org_id: int | None = Field(default=None, description="routed to this org's handlers")
    escalated: bool | None = Field(default=None, description="已上报 (true) or not")
    overdue: bool = Field(default=False, description="only open ones past their deadline")


class AcknowledgeIn(Input):
    comment: str = Field(default="", max_length=2000)


class ResolveIn(Input):
    resolution: str = Field(min_length=1, max_length=2000, description="处理结果")


class ReassignIn(Input):
    handler_org_id: int = Field(description="one of the anomaly's `reassign_targets`")
    comment: str = Field(default="", max_length=2000)
