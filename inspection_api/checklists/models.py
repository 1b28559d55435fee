"""Checklist templates (检查模板) and their versions. A version is a draft until published,
then never changes; an inspection keeps the version it was started with."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inspection_api.db import Base, UTCDateTime, str_enum, utcnow


class TemplateStatus(StrEnum):
    ACTIVE = "active"  # 启用
    ARCHIVED = "archived"  # 已归档: no new inspections, no edits; its versions stay readable


class VersionStatus(StrEnum):
    DRAFT = "draft"  # 草稿
    PUBLISHED = "published"  # 已发布


TEMPLATE_STATUS_LABELS: dict[TemplateStatus, tuple[str, str]] = {
    TemplateStatus.ACTIVE: ("启用", "active"),
    TemplateStatus.ARCHIVED: ("已归档", "archived"),
}


class ChecklistTemplate(Base):
    __tablename__ = "checklist_templates"
    # The seeded default is found again by (org, code); user-made templates have no code.
    __table_args__ = (UniqueConstraint("org_id", "code", name="uq_checklist_templates_org_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Owning org: visible to it, its ancestors and its whole subtree; managed from it or above.
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    code: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[TemplateStatus] = mapped_column(str_enum(TemplateStatus), index=True)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    versions: Mapped[list[ChecklistVersion]] = relationship(
        lazy="raise", order_by="ChecklistVersion.number"
    )


class ChecklistVersion(Base):
    __tablename__ = "checklist_versions"
    # Numbers are 1, 2, 3… per template; two admins racing to open a draft cannot both win.
    __table_args__ = (
        UniqueConstraint("template_id", "number", name="uq_checklist_versions_template_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("checklist_templates.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[VersionStatus] = mapped_column(str_enum(VersionStatus))
    # The form (content.Checklist as JSON); frozen once published.
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Bumped at every draft save: a save based on an older revision is refused, not merged.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
