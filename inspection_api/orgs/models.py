"""The bank hierarchy: 省行 (province bank) → 二级分行 (branch) → 支行 (sub-branch), any depth."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from inspection_api.db import Base, UTCDateTime, utcnow


class OrgKind(StrEnum):
    PROVINCE = "province"  # 省行
    BRANCH = "branch"  # 二级分行
    SUB_BRANCH = "sub_branch"  # 支行


KIND_LABELS = {OrgKind.PROVINCE: "省行", OrgKind.BRANCH: "二级分行", OrgKind.SUB_BRANCH: "支行"}


class Org(Base):
    __tablename__ = "orgs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[OrgKind] = mapped_column(
        Enum(OrgKind, native_enum=False, length=16, values_callable=lambda e: [k.value for k in e])
    )
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"), index=True)
    # Materialized path of ids, "/1/4/9/": jurisdiction is a prefix match on it.
    path: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
