from __future__ import annotations

from pydantic import Field

from inspection_api.orgs.models import KIND_LABELS, OrgKind
from inspection_api.schemas import Input, Output


class OrgOut(Output):
    id: int
    name: str
    code: str
    kind: OrgKind
    parent_id: int | None
    path: str

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


class OrgCreate(Input):
    name: str = Field(min_length=2, max_length=100, description="机构名称")
    code: str = Field(
        min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_-]+$", description="机构编号"
    )
    kind: OrgKind = Field(description="province 省行 / branch 二级分行 / sub_branch 支行")
    parent_id: int = Field(description="上级机构")


class OrgUpdate(Input):
    name: str = Field(min_length=2, max_length=100)
