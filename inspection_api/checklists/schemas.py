from __future__ import annotations

from datetime import datetime

from pydantic import Field

from inspection_api.checklists.content import Checklist, ChecklistSection
from inspection_api.checklists.models import TemplateStatus, VersionStatus
from inspection_api.schemas import Input, Output


class ChecklistVersionOut(Checklist):
    """One version of a template: its form (``sections``) and where it stands. The stable
    shape an inspection keeps; the answer rules (``rules``) take it as it is."""

    id: int
    template_id: int
    template_name: str
    number: int = Field(description="1, 2, 3… per template")
    status: VersionStatus = Field(description="draft 草稿 / published 已发布 (immutable)")
    revision: int = Field(description="draft saves so far; send it back when saving or publishing")
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None


class VersionSummaryOut(Output):
    id: int
    number: int
    status: VersionStatus
    revision: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None


class TemplateOut(Output):
    id: int
    org_id: int
    org_name: str
    code: str | None = Field(description="set on the seeded default template")
    name: str
    description: str
    status: TemplateStatus = Field(description="active 启用 / archived 已归档")
    created_at: datetime
    archived_at: datetime | None
    published: VersionSummaryOut | None = Field(description="the latest published version")
    draft: VersionSummaryOut | None = Field(description="the draft being edited, if any")
    can_manage: bool = Field(description="the caller may edit, publish and archive it")


class TemplateDetailOut(TemplateOut):
    versions: list[VersionSummaryOut]


class TemplateQuery(Input):
    include_archived: bool = False


class TemplateCreate(Input):
    name: str = Field(min_length=1, max_length=100, description="模板名称")
    description: str = Field(default="", max_length=500)
    org_id: int | None = Field(default=None, description="所属机构 (default: my org)")
    sections: list[ChecklistSection] | None = Field(
        default=None, description="the first draft's form (default: the conclusion item only)"
    )


class TemplateUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)


class DraftSave(Checklist):
    """The whole form of the draft (it replaces the previous one)."""

    revision: int | None = Field(
        default=None,
        ge=1,
        description="the draft revision this edit started from (409 draft_changed if another "
        "save came first); omit only to open a new draft when there is none",
    )


class PublishIn(Input):
    revision: int | None = Field(
        default=None, ge=1, description="the draft revision being published (409 if changed)"
    )
