"""审核 (review): a reviewer approves a submitted inspection or returns it to its inspector
with the reason; never their own. Every decision is kept (``Review``) and audited."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.audit.service import Origin
from inspection_api.auth.permissions import Permission
from inspection_api.auth.principal import Principal
from inspection_api.db import utcnow
from inspection_api.inspections import repository
from inspection_api.inspections.errors import InspectionStateConflict, OwnReview
from inspection_api.inspections.hooks import InspectionHook, run_hooks
from inspection_api.inspections.models import (
    STATE_LABELS,
    InspectionState,
    Review,
    ReviewDecision,
)
from inspection_api.inspections.repository import Row
from inspection_api.inspections.rules import Finding
from inspection_api.inspections.service import Actor, audit_event, visible


async def review(
    session: AsyncSession,
    principal: Principal,
    inspection_id: int,
    decision: ReviewDecision,
    comment: str,
    *,
    origin: Origin,
    hooks: Sequence[InspectionHook] = (),
) -> Row:
    """审核: approve (已通过) or return (已退回, the inspector edits and submits again) a
    submitted inspection; ``hooks`` hear approvals."""
    row = await visible(session, principal, inspection_id, Permission.INSPECTION_REVIEW)
    inspection = row.inspection
    if inspection.inspector_user_id == principal.user_id:
        raise OwnReview()
    approve = decision == ReviewDecision.APPROVED
    action = ("审核通过", "approve it") if approve else ("退回", "return it")
    target = InspectionState.APPROVED if approve else InspectionState.RETURNED
    now = utcnow()
    moved = await repository.move(
        session,
        inspection,
        {InspectionState.SUBMITTED},
        state=target,
        reviewed_at=now,
        reviewed_by_user_id=principal.user_id,
        review_comment=comment,
    )
    if not moved:
        raise InspectionStateConflict(state=STATE_LABELS[inspection.state], action=action)
    session.add(
        Review(
            inspection_id=inspection.id,
            submission=inspection.submission_count,
            decision=decision,
            comment=comment,
            reviewer_user_id=principal.user_id,
            reviewer_name=principal.username,
            at=now,
        )
    )
    await session.flush()
    audit_event(
        session,
        f"inspection_{decision.value}",
        row,
        Actor(principal),
        origin,
        submission=inspection.submission_count,
        comment=comment,
    )
    if approve:
        findings = [Finding.from_json(f) for f in inspection.findings]
        await run_hooks(hooks, session, inspection, findings)
    return row
