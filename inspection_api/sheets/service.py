"""The briefing sheet (明白纸) of an inspection: printing inside the window, the lock past
it, the supervisors' opinions, unlock requests and their approval, the unlock report.

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

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from inspection_api.audit.service import Origin, record
from inspection_api.auth.permissions import Permission, permissions_of, require, require_governs
from inspection_api.auth.principal import Principal, Role
from inspection_api.checklists import service as checklists
from inspection_api.checklists.repository import ancestor_paths
from inspection_api.checkpoints.models import CLASSIFICATION_LABELS
from inspection_api.errors import NotFound
from inspection_api.inspections.models import KIND_LABELS, Inspection
from inspection_api.inspections.repository import Row, get_row
from inspection_api.inspections.service import visible
from inspection_api.notifications import outbox
from inspection_api.notifications.models import NotificationKind
from inspection_api.notifications.service import notify
from inspection_api.orgs.models import Org
from inspection_api.sheets import rules
from inspection_api.sheets.content import Opinion, SheetContent, beijing, day, layout, money
from inspection_api.sheets.errors import (
    UNLOCK_REQUEST,
    OwnInspectionOpinion,
    OwnUnlockRequest,
    SheetLocked,
    SheetNotAvailable,
    SheetNotLocked,
    UnlockRequestPending,
    UnlockStateConflict,
)
from inspection_api.sheets.models import (
    UNLOCK_STATE_LABELS,
    BriefingSheet,
    SupervisorOpinion,
    UnlockRequest,
    UnlockState,
)
from inspection_api.users.models import User, UserRole
from loancheck.settings import Settings

UPDATED_EVENT = "sheet_unlock_updated"  # console push: {id, inspection_id, state}
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
            deadline=beijing(sheet.print_deadline, "%Y-%m-%d %H:%M:%S"),
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


# ---- unlock requests ----


async def approver_org(session: AsyncSession, policy: SheetPolicy, org: Org) -> Org:
    path = rules.approver_org_path(org.path, policy.approver_levels)
    found = await session.scalar(select(Org).where(Org.path == path))
    assert found is not None  # a path of the tree
    return found


async def approvers(session: AsyncSession, org: Org) -> list[int]:
    """Active 机构管理员 of ``org``; when it has none, of the nearest org above that has."""
    query = (
        select(User.id, Org.path)
        .join(UserRole, UserRole.user_id == User.id)
        .join(Org, User.org_id == Org.id)
        .where(
            UserRole.role == Role.ORG_ADMIN.value,
            User.is_active.is_(True),
            Org.path.in_(ancestor_paths(org.path)),
        )
    )
    by_path: dict[str, list[int]] = {}
    for user_id, path in (await session.execute(query)).all():
        by_path.setdefault(path, []).append(user_id)
    for path in reversed(ancestor_paths(org.path)):
        if by_path.get(path):
            return sorted(by_path[path])
    return []


def _push(session: AsyncSession, user_ids: list[int], request: UnlockRequest) -> None:
    data = {"id": request.id, "inspection_id": request.inspection_id, "state": request.state.value}
    for user_id in dict.fromkeys(user_ids):
        outbox.add(session, outbox.Push(user_id, UPDATED_EVENT, data))


async def request_unlock(
    session: AsyncSession,
    policy: SheetPolicy,
    principal: Principal,
    inspection_id: int,
    reason: str,
    *,
    now: datetime,
    origin: Origin,
) -> UnlockRequest:
    """申请解锁: only a locked sheet, one pending request at a time; the approvers are told."""
    row = await visible(session, principal, inspection_id, Permission.SHEET_PRINT)
    sheet = await ensure_sheet(session, policy, row.inspection)
    if sheet is None:
        raise SheetNotAvailable(action=("申请解锁", "ask for an unlock"))
    if not locked(sheet, now):
        raise SheetNotLocked(deadline=beijing(sheet.print_deadline, "%Y-%m-%d %H:%M:%S"))
    pending = await session.scalar(
        select(UnlockRequest).where(
            UnlockRequest.inspection_id == inspection_id,
            UnlockRequest.state == UnlockState.PENDING,
        )
    )
    if pending is not None:
        raise UnlockRequestPending(
            requester=pending.requester_name,
            at=beijing(pending.requested_at),
            request_id=pending.id,
        )
    target = await approver_org(session, policy, row.org)
    user = await session.get(User, principal.user_id)
    request = UnlockRequest(
        inspection_id=inspection_id,
        org_id=row.org.id,
        approver_org_id=target.id,
        state=UnlockState.PENDING,
        reason=reason,
        requested_by_user_id=principal.user_id,
        requester_name=(user.display_name if user else "") or principal.username,
        requested_at=now,
    )
    session.add(request)
    await session.flush()
    audit(session, "sheet_unlock_requested", principal, row, origin, unlock_request_id=request.id,
          reason=reason, approver_org_id=target.id)  # fmt: skip
    to = [u for u in await approvers(session, target) if u != principal.user_id]
    await notify(
        session,
        to,
        NotificationKind.SHEET_UNLOCK_REQUESTED,
        title=f"明白纸解锁申请：{row.checkpoint.name}",
        body=f"{request.requester_name}（{row.org.name}）：{reason}",
        now=now,
    )
    _push(session, [*to, principal.user_id], request)
    return request


async def _request_row(
    session: AsyncSession, principal: Principal, request_id: int
) -> tuple[UnlockRequest, Org]:
    """A request whose approver org is in the jurisdiction (404 otherwise)."""
    found = (
        await session.execute(
            select(UnlockRequest, Org)
            .join(Org, UnlockRequest.approver_org_id == Org.id)
            .where(UnlockRequest.id == request_id)
        )
    ).first()
    require_governs(principal, found[1].path if found else "", UNLOCK_REQUEST, request_id)
    assert found is not None
    return found[0], found[1]


async def decide(
    session: AsyncSession,
    policy: SheetPolicy,
    principal: Principal,
    request_id: int,
    *,
    approve: bool,
    comment: str,
    now: datetime,
    origin: Origin,
) -> UnlockRequest:
    """解锁 (approve: a new print window of LOANCHECK_SHEET_UNLOCK_HOURS from now, counted)
    or refuse (with the reason). Of two deciding at once, one wins; the other gets 409."""
    require(principal, Permission.SHEET_UNLOCK)
    request, _approver_org = await _request_row(session, principal, request_id)
    if request.requested_by_user_id == principal.user_id:
        raise OwnUnlockRequest()
    action = ("同意解锁", "approve it") if approve else ("拒绝解锁", "refuse it")
    target = UnlockState.APPROVED if approve else UnlockState.REFUSED
    user = await session.get(User, principal.user_id)
    reopened = rules.reopened_deadline(now, policy.unlock_hours) if approve else None
    result = await session.execute(
        update(UnlockRequest)
        .where(UnlockRequest.id == request.id, UnlockRequest.state == UnlockState.PENDING)
        .values(
            state=target,
            decided_by_user_id=principal.user_id,
            decider_name=(user.display_name if user else "") or principal.username,
            decided_at=now,
            comment=comment,
            reopened_until=reopened,
        )
        .execution_options(synchronize_session=False)
    )
    await session.refresh(request)
    if not getattr(result, "rowcount", 0):
        raise UnlockStateConflict(state=UNLOCK_STATE_LABELS[request.state], action=action)
    row = await get_row(session, request.inspection_id)
    assert row is not None
    if approve:
        assert reopened is not None
        sheet = await ensure_sheet(session, policy, row.inspection)
        assert sheet is not None
        sheet.print_deadline = reopened
        sheet.printed_at = None
        sheet.unlock_count += 1
        sheet.last_unlocked_at = now
        sheet.last_unlocked_by_user_id = principal.user_id
        await session.flush()
    audit(session, f"sheet_unlock_{target.value}", principal, row, origin,
          unlock_request_id=request.id, comment=comment,
          reopened_until=reopened.isoformat() if reopened else None)  # fmt: skip
    if request.requested_by_user_id is not None:
        verdict = f"已同意，请于 {beijing(reopened)} 前打印" if reopened else f"已拒绝：{comment}"
        await notify(
            session,
            [request.requested_by_user_id],
            NotificationKind.SHEET_UNLOCK_DECIDED,
            title=f"明白纸解锁申请{UNLOCK_STATE_LABELS[target][0]}：{row.checkpoint.name}",
            body=f"{request.decider_name}{verdict}",
            now=now,
        )
        _push(session, [request.requested_by_user_id, principal.user_id], request)
    return request


async def list_requests(
    session: AsyncSession,
    principal: Principal,
    *,
    state: UnlockState | None,
    offset: int,
    limit: int,
) -> tuple[list[tuple[UnlockRequest, Org, Org, str]], int]:
    """Requests the caller may decide (approver org in the jurisdiction, with
    ``sheet.unlock``) and the caller's own; pending first, newest first."""
    approver, origin_org = aliased(Org), aliased(Org)
    from inspection_api.checkpoints.models import Checkpoint

    mine = UnlockRequest.requested_by_user_id == principal.user_id
    if Permission.SHEET_UNLOCK in permissions_of(principal):
        mine = mine | approver.path.startswith(principal.org_path, autoescape=True)
    query = (
        select(UnlockRequest, approver, origin_org, Checkpoint.name)
        .join(approver, UnlockRequest.approver_org_id == approver.id)
        .join(origin_org, UnlockRequest.org_id == origin_org.id)
        .join(Inspection, UnlockRequest.inspection_id == Inspection.id)
        .join(Checkpoint, Inspection.checkpoint_id == Checkpoint.id)
        .where(mine)
    )
    if state is not None:
        query = query.where(UnlockRequest.state == state)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.execute(
        query.order_by((UnlockRequest.state == UnlockState.PENDING).desc(), UnlockRequest.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [tuple(r) for r in rows.all()], total  # type: ignore[misc]


def may_decide(principal: Principal, request: UnlockRequest, approver_path: str) -> bool:
    return (
        request.state == UnlockState.PENDING
        and Permission.SHEET_UNLOCK in permissions_of(principal)
        and principal.governs(approver_path)
        and request.requested_by_user_id != principal.user_id
    )


# ---- the report ----


async def unlock_report(
    session: AsyncSession,
    principal: Principal,
    *,
    org_id: int | None,
    since: datetime | None,
    until: datetime | None,
) -> dict[str, Any]:
    """Unlock requests of the jurisdiction (by the inspection's org) counted per org, per
    person who asked and per person who decided."""
    require(principal, Permission.SHEET_UNLOCK)
    scope = principal.org_path
    if org_id is not None:
        org = await session.get(Org, org_id)
        require_governs(principal, org.path if org else "", "org", org_id)
        assert org is not None
        scope = org.path
    origin_org = aliased(Org)
    requester, decider = aliased(User), aliased(User)
    requester_org, decider_org = aliased(Org), aliased(Org)
    query = (
        select(
            UnlockRequest.state,
            origin_org.id,
            origin_org.name,
            UnlockRequest.requested_by_user_id,
            UnlockRequest.requester_name,
            requester_org.name,
            UnlockRequest.decided_by_user_id,
            UnlockRequest.decider_name,
            decider_org.name,
        )
        .join(origin_org, UnlockRequest.org_id == origin_org.id)
        .outerjoin(requester, UnlockRequest.requested_by_user_id == requester.id)
        .outerjoin(requester_org, requester.org_id == requester_org.id)
        .outerjoin(decider, UnlockRequest.decided_by_user_id == decider.id)
        .outerjoin(decider_org, decider.org_id == decider_org.id)
        .where(origin_org.path.startswith(scope, autoescape=True))
    )
    if since is not None:
        query = query.where(UnlockRequest.requested_at >= since)
    if until is not None:
        query = query.where(UnlockRequest.requested_at < until)
    by_org: dict[Any, dict[str, Any]] = {}
    by_requester: dict[Any, dict[str, Any]] = {}
    by_approver: dict[Any, dict[str, Any]] = {}

    def count(table: dict[Any, dict[str, Any]], key: Any, name: str, org: str, state: str) -> None:
        line = table.setdefault(
            key,
            {"id": key, "name": name, "org_name": org,
             "requested": 0, "approved": 0, "refused": 0, "pending": 0},
        )  # fmt: skip
        line["requested"] += 1
        line[state] += 1

    for state, o_id, o_name, r_id, r_name, r_org, d_id, d_name, d_org in (
        await session.execute(query)
    ).all():
        value = UnlockState(state).value
        count(by_org, o_id, o_name, o_name, value)
        count(by_requester, r_id, r_name, r_org or "", value)
        if d_id is not None or d_name:
            count(by_approver, d_id, d_name, d_org or "", value)

    def ordered(table: dict[Any, dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(table.values(), key=lambda line: (-line["approved"], -line["requested"],
                                                        line["name"]))  # fmt: skip

    return {
        "by_org": ordered(by_org),
        "by_requester": ordered(by_requester),
        "by_approver": ordered(by_approver),
        "total_requested": sum(line["requested"] for line in by_org.values()),
        "total_approved": sum(line["approved"] for line in by_org.values()),
    }


async def load_request(session: AsyncSession, request_id: int) -> UnlockRequest:
    request = await session.get(UnlockRequest, request_id)
    if request is None:
        raise NotFound(resource=UNLOCK_REQUEST, id=request_id)
    return request
