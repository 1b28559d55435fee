"""申请解锁 and 解锁: unlock requests of locked briefing sheets, their approval online by the
administrators of the approver org (LOANCHECK_SHEET_UNLOCK_APPROVER_LEVELS above the 支行),
and the unlock report (per org, requester and approver)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from inspection_api.audit.service import Origin
from inspection_api.auth.permissions import Permission, permissions_of, require, require_governs
from inspection_api.auth.principal import Principal, Role
from inspection_api.beijing import second_text
from inspection_api.checklists.repository import ancestor_paths
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.inspections.models import Inspection
from inspection_api.inspections.repository import get_row
from inspection_api.inspections.service import visible
from inspection_api.notifications import outbox
from inspection_api.notifications.models import NotificationKind
from inspection_api.notifications.service import notify
from inspection_api.orgs.models import Org
from inspection_api.sheets import rules
from inspection_api.sheets.content import beijing
from inspection_api.sheets.errors import (
    UNLOCK_REQUEST,
    OwnUnlockRequest,
    SheetNotAvailable,
    SheetNotLocked,
    UnlockRequestPending,
    UnlockStateConflict,
)
from inspection_api.sheets.models import UNLOCK_STATE_LABELS, UnlockRequest, UnlockState
from inspection_api.sheets.service import SheetPolicy, audit, ensure_sheet, locked
from inspection_api.users.models import User, UserRole

UPDATED_EVENT = "sheet_unlock_updated"  # console push: {id, inspection_id, state}


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
        raise SheetNotLocked(deadline=second_text(sheet.print_deadline))
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
