from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from inspection_api.checkpoints import geo
from inspection_api.checkpoints.geo import RADIUS_MAX_M, RADIUS_MIN_M
from inspection_api.checkpoints.models import (
    Checkpoint,
    CheckpointStatus,
    ExitReason,
    LoanClassification,
)
from inspection_api.schemas import IdList, Input, Output, Page, PagedQuery

Code = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
        description="检查点编号: letters, digits, - and _ (printed on the label)",
    ),
]
Amount = Annotated[
    Decimal, Field(gt=0, max_digits=15, decimal_places=2, description="贷款金额（元）")
]
Radius = Annotated[
    int,
    Field(ge=RADIUS_MIN_M, le=RADIUS_MAX_M, description="误差范围（米）; null = global default"),
]


class CheckpointCreate(Input):
    org_id: int | None = Field(default=None, description="所属支行 (default: my org)")
    name: str = Field(min_length=1, max_length=100, description="检查点名称")
    code: Code
    customer_name: str = Field(min_length=1, max_length=100, description="企业/借款人名称")
    loan_amount: Amount | None = None
    loan_date: date | None = Field(default=None, description="放款日期")
    maturity_date: date | None = Field(default=None, description="到期日")
    classification: LoanClassification | None = Field(
        default=None,
        description="五级分类: pass 正常 / special_mention 关注 / substandard 次级 "
        "/ doubtful 可疑 / loss 损失",
    )
    address: str = Field(default="", max_length=200)
    contact_name: str = Field(default="", max_length=64, description="企业联系人")
    contact_phone: str = Field(
        default="", max_length=32, description="手机或座机（带区号），stored in one spelling"
    )
    radius_m: Radius | None = None


class CheckpointUpdate(Input):
    """Only the fields sent change; send null to clear an optional field."""

    org_id: int | None = None
    name: str | None = Field(default=None, min_length=1, max_length=100)
    code: Code | None = None
    customer_name: str | None = Field(default=None, min_length=1, max_length=100)
    loan_amount: Amount | None = None
    loan_date: date | None = None
    maturity_date: date | None = None
    classification: LoanClassification | None = None
    address: str | None = Field(default=None, max_length=200)
    contact_name: str | None = Field(default=None, max_length=64)
    contact_phone: str | None = Field(default=None, max_length=32)
    radius_m: Radius | None = None


class CheckpointQuery(PagedQuery):
    org_id: int | None = Field(default=None, description="only this org and its descendants")
    status: CheckpointStatus | None = Field(default=None, description="active 在检 / exited 退出点")
    exit_reason: ExitReason | None = Field(default=None, description="退出点类型 (implies exited)")
    classification: LoanClassification | None = None
    bound: bool | None = Field(default=None, description="GPS position bound (已定位) or not")
    q: str | None = Field(default=None, max_length=100, description="name, code or customer")


class ExitIn(Input):
    reason: ExitReason = Field(
        description="exited 已退出 / written_off 已核销 / settled 已结清 / discount_only 纯贴现用户"
    )
    date: dt.date = Field(description="退出日期")
    note: str = Field(default="", max_length=500)


class NavigationOut(Output):
    baidu: str = Field(description="Baidu Maps marker URI (BD-09)")
    amap: str = Field(description="Amap marker URI (GCJ-02)")

    @classmethod
    def of(cls, checkpoint: Checkpoint) -> NavigationOut | None:
        """The map links of a checkpoint's bound position; None until it is bound."""
        if checkpoint.latitude is None or checkpoint.longitude is None:
            return None
        links = geo.navigation_links(
            geo.Point(checkpoint.latitude, checkpoint.longitude),
            checkpoint.name,
            checkpoint.address,
        )
        return cls(baidu=links.baidu, amap=links.amap)


class CheckpointOut(Output):
    id: int
    org_id: int
    org_name: str
    name: str
    code: str
    customer_name: str
    loan_amount: Decimal | None = Field(description="yuan, as a decimal string")
    loan_date: date | None
    maturity_date: date | None
    classification: LoanClassification | None
    address: str
    contact_name: str
    contact_phone: str
    latitude: float | None = Field(description="GPS默认位置, WGS-84")
    longitude: float | None
    bound_at: datetime | None
    radius_m: int | None = Field(description="own tolerance radius; null = global default")
    effective_radius_m: int
    last_checked_in_at: datetime | None
    status: CheckpointStatus
    exit_reason: ExitReason | None
    exit_date: date | None
    exit_note: str
    exited_at: datetime | None
    qr_generation: int
    navigation: NavigationOut | None = Field(description="map links; null until bound")
    created_at: datetime
    updated_at: datetime


class CheckpointPage(Page[CheckpointOut]):
    default_radius_m: int = Field(
        description="the global 误差范围 (LOANCHECK_CHECKPOINT_RADIUS_METERS)"
    )


class QrOut(Output):
    url: str = Field(description="what the label encodes")
    generation: int


class LabelsQuery(Input):
    org_id: int | None = Field(default=None, description="every active checkpoint under this org")
    ids: IdList | None = Field(default=None, description="comma-separated ids")
    include_exited: bool = Field(default=False, description="with org_id: exit points too")


class FixIn(Input):
    """A W3C GeolocationPosition as the phone reported it (WGS-84)."""

    latitude: float = Field(ge=-90, le=90, allow_inf_nan=False)
    longitude: float = Field(ge=-180, le=180, allow_inf_nan=False)
    accuracy: float = Field(ge=0, allow_inf_nan=False, description="metres (95 % confidence)")
    captured_at: AwareDatetime = Field(description="position timestamp, ISO 8601 with zone")


class CheckInIn(Input):
    qr: str = Field(min_length=1, max_length=500, description="label URL or its payload")
    fix: FixIn


class LabelIn(Input):
    qr: str = Field(min_length=1, max_length=500, description="label URL or its payload")


class CheckInResultOut(Output):
    outcome: Literal["bound", "verified"] = Field(
        description="bound: this fix became the GPS默认位置; verified: within the radius"
    )
    distance_m: float
    radius_m: int
    accuracy_m: float


class CheckInOut(Output):
    checkpoint: CheckpointOut
    result: CheckInResultOut
