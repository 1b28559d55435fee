"""The briefing sheet (明白纸) of an inspection: printing inside the window, the lock past
it, the supervisors' opinions (unlock requests and the report: ``unlocks.py``).

Who: ``sheet.print`` prints and asks to unlock (in the jurisdiction); ``sheet.opinion``
writes 上级管理条线意见, never on an inspection one ran; ``sheet.unlock`` decides the unlock
requests of the orgs whose approver org is in the jurisdiction (never one's own) and reads
the report. Every change is audited; the approvers and the requester hear of requests and
decisions in their inbox and live in the console (``sheet_unlock_updated``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.audit.service import Origin, record
from inspection_api.auth.permissions import Permission, permissions_of
from inspection_api.auth.principal import Principal
from inspection_api.beijing import second_text
from inspection_api.checklists import service as checklists
from inspection_api.checkpoints.models import CLASSIFICATION_LABELS
from inspection_api.inspections.models import KIND_LABELS, Inspection
from inspection_api.inspections.repository import Row
from inspection_api.inspections.service import visible
from inspection_api.orgs.models import Org
from inspection_api.sheets import rules
from inspection_api.sheets.content import Opinion, SheetContent, day, layout, money
from inspection_api.sheets.errors import (
    OwnInspectionOpinion,
    SheetLocked,
    SheetNotAvailable,
)
from inspection_api.sheets.models import (
    BriefingSheet,
    SupervisorOpinion,
    UnlockRequest,
)
from inspection_api.users.models import User
from loancheck.settings import Settings

PRINT = ("打印明白纸", "print the briefing sheet")
OPINION = ("填写上级管理条线意见", "write a supervisor opinion")


@dataclass(frozen=True)
class SheetPolicy:
    """The bank-wide settings of the print window (LOANCHECK_SHEET_*)."""

    print_hours: int
    unlock_hours: int
    approver_levels: int

    @classmethod
    def of(cls, settings: Settings) -> SheetPolicy:
        return cls(
            settings.sheet_print_hours,
            settings.sheet_unlock_hours,
            settings.sheet_unlock_approver_levels,
        )


# ---- the sheet and its window ----


async def ensure_sheet(
    session: AsyncSession, policy: SheetPolicy, inspection: Inspection
) -> BriefingSheet | None:
    """The inspection's sheet, opened at its first submission (None before it). The
    submission hook opens it; one submitted before this existed opens at the first look,
    with the window counted from its latest submission."""
    sheet = await session.get(BriefingSheet, inspection.id)
    if sheet is not None or inspection.submitted_at is None:
        return sheet
    sheet = BriefingSheet(
        inspection_id=inspection.id,
        print_deadline=rules.first_deadline(inspection.submitted_at, policy.print_hours),
        print_count=0,
        unlock_count=0,
    )
    try:
        async with session.begin_nested():
            session.add(sheet)
    except IntegrityError:  # opened at the same moment by another request
        sheet = await session.get(BriefingSheet, inspection.id, populate_existing=True)
    return sheet


def open_print_window(settings: Settings) -> Any:
    """Submission hook: the first submission opens the print window."""
    policy = SheetPolicy.of(settings)

    async def hook(session: AsyncSession, inspection: Inspection, findings: Any) -> None:
        await ensure_sheet(session, policy, inspection)

    return hook


def locked(sheet: BriefingSheet | None, now: datetime) -> bool:
    return sheet is not None and rules.is_locked(sheet.print_deadline, sheet.printed_at, now)


def _refuse_if_locked(sheet: BriefingSheet | None, now: datetime, action: tuple[str, str]) -> None:
    if sheet is not None and locked(sheet, now):
        raise SheetLocked(
            deadline=second_text(sheet.print_deadline),
            deadline_iso=sheet.print_deadline.isoformat(),
            action=action,
        )


def audit(
    session: AsyncSession,
    action: str,
    principal: Principal,
    row: Row,
    origin: Origin,
    **detail: Any,
) -> None:
    record(
        session,
        action,
        origin=origin,
        actor=principal,
        org_path=row.org.path,
        inspection_id=row.inspection.id,
        checkpoint_id=row.checkpoint.id,
        **detail,
    )


# ---- reading ----


async def opinions_of(session: AsyncSession, inspection_id: int) -> list[SupervisorOpinion]:
    query = (
        select(SupervisorOpinion)
        .where(SupervisorOpinion.inspection_id == inspection_id)
        .order_by(SupervisorOpinion.id)
    )
    return list((await session.scalars(query)).all())


async def requests_of(session: AsyncSession, inspection_id: int) -> list[UnlockRequest]:
    query = (
        select(UnlockRequest)
        .where(UnlockRequest.inspection_id == inspection_id)
        .order_by(UnlockRequest.id.desc())
    )
    return list((await session.scalars(query)).all())


async def sheet_view(
    session: AsyncSession, policy: SheetPolicy, principal: Principal, inspection_id: int
) -> tuple[Row, BriefingSheet | None]:
    """``inspection.read`` in the jurisdiction (404 outside it)."""
    row = await visible(session, principal, inspection_id, Permission.INSPECTION_READ)
    return row, await ensure_sheet(session, policy, row.inspection)


# ---- printing ----


async def print_sheet(
    session: AsyncSession,
    policy: SheetPolicy,
    principal: Principal,
    inspection_id: int,
    *,
    now: datetime,
    origin: Origin,
) -> SheetContent:
    """Record a print and return what the sheet shows. 409 before the first submission,
    423 once locked."""
    row = await visible(session, principal, inspection_id, Permission.SHEET_PRINT)
    sheet = await ensure_sheet(session, policy, row.inspection)
    if sheet is None:
        raise SheetNotAvailable(action=PRINT)
    _refuse_if_locked(sheet, now, PRINT)
    in_window = sheet.printed_at is None
    if in_window:
        sheet.printed_at = now
    sheet.first_printed_at = sheet.first_printed_at or now
    sheet.print_count += 1
    await session.flush()
    audit(
        session,
        "sheet_printed",
        principal,
        row,
        origin,
        print_count=sheet.print_count,
        print_deadline=sheet.print_deadline.isoformat(),
    )
    return await content_of(session, row, now)


async def content_of(session: AsyncSession, row: Row, now: datetime) -> SheetContent:
    inspection, checkpoint = row.inspection, row.checkpoint
    version = await checklists.get_version(session, inspection.checklist_version_id)
    columns, remarks, conclusion = layout(version, inspection.answers)
    opinions = [
        Opinion(f"{o.author_name}（{o.author_org_name}）", o.created_at, o.text)
        for o in await opinions_of(session, inspection.id)
    ]
    classification = (
        CLASSIFICATION_LABELS[checkpoint.classification] if checkpoint.classification else ""
    )
    return SheetContent(
        customer_name=checkpoint.customer_name,
        amount=money(checkpoint.loan_amount),
        loan_date=day(checkpoint.loan_date),
        maturity_date=day(checkpoint.maturity_date),
        classification=classification,
        columns=columns,
        remarks=remarks,
        conclusion=conclusion,
        opinions=opinions,
        inspection_id=inspection.id,
        kind_label=KIND_LABELS[inspection.kind][0],
        checkpoint=f"{checkpoint.name}（{checkpoint.code}）",
        org_name=row.org.name,
        inspector_name=row.inspector_name,
        submitted_at=inspection.submitted_at,
        printed_at=now,
    )


# ---- 上级管理条线意见 ----


def may_write_opinion(principal: Principal, inspection: Inspection) -> bool:
    return (
        Permission.SHEET_OPINION in permissions_of(principal)
        and inspection.inspector_user_id != principal.user_id
    )


async def add_opinion(
    session: AsyncSession,
    policy: SheetPolicy,
    principal: Principal,
    inspection_id: int,
    text: str,
    *,
    now: datetime,
    origin: Origin,
) -> SupervisorOpinion:
    """A manager above the inspector writes an opinion, at any state of the inspection
    (after its submission too), unless the sheet is locked."""
    row = await visible(session, principal, inspection_id, Permission.SHEET_OPINION)
    if row.inspection.inspector_user_id == principal.user_id:
        raise OwnInspectionOpinion()
    _refuse_if_locked(await ensure_sheet(session, policy, row.inspection), now, OPINION)
    org = await session.get(Org, principal.org_id)
    author = await session.get(User, principal.user_id)
    opinion = SupervisorOpinion(
        inspection_id=row.inspection.id,
        text=text,
        author_user_id=principal.user_id,
        author_name=(author.display_name if author else "") or principal.username,
        author_org_id=principal.org_id,
        author_org_name=org.name if org else "",
        created_at=now,
    )
    session.add(opinion)
    await session.flush()
    audit(session, "supervisor_opinion_added", principal, row, origin, opinion_id=opinion.id,
          text=text)  # fmt: skip
    return opinion
