"""Inspections: start (on site by QR + GPS, or beside a remote call), fill in, submit, review.

Who: ``inspection.read`` sees the jurisdiction's inspections (404 outside it, as for one that
does not exist); ``inspection.run`` starts them and fills in those it runs; ``inspection.review``
approves or returns submitted ones, never one's own. Self-checks (the enterprise contact, by
invite) are in ``selfcheck.py``, evidence in ``evidence.py``; both reuse what is here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.audit.service import Origin, record
from inspection_api.auth.permissions import Permission, require, require_governs
from inspection_api.auth.principal import Principal
from inspection_api.checklists import service as checklists
from inspection_api.checklists.defaults import DEFAULT_TEMPLATE_CODE
from inspection_api.checklists.models import ChecklistTemplate, TemplateStatus
from inspection_api.checklists.repository import ancestor_paths
from inspection_api.checklists.rules import conclusion_of, missing_evidence, validate_answers
from inspection_api.checklists.schemas import ChecklistVersionOut
from inspection_api.checkpoints import geo
from inspection_api.checkpoints import service as checkpoints
from inspection_api.checkpoints.checkin import CheckInResult, effective_radius
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.db import utcnow
from inspection_api.errors import InvalidField, ValidationFailed
from inspection_api.inspections import repository
from inspection_api.inspections.errors import (
    INSPECTION,
    EvidenceMissing,
    InspectionStateConflict,
    NotTheInspector,
    RemoteAlreadyLinked,
)
from inspection_api.inspections.hooks import InspectionHook, run_hooks
from inspection_api.inspections.models import (
    EDITABLE_STATES,
    STATE_LABELS,
    CheckIn,
    Inspection,
    InspectionKind,
    InspectionState,
)
from inspection_api.inspections.repository import Row
from inspection_api.inspections.rules import (
    Finding,
    Merged,
    findings_of,
    flag_errors,
    inspector_form,
    merge_answers,
    partial_errors,
    place,
    supervisor_opinion_errors,
)
from inspection_api.orgs.models import Org
from inspection_api.remote.models import RemoteSession
from loancheck.settings import Settings


@dataclass(frozen=True)
class Actor:
    """Who fills an inspection in: bank staff (``principal``) or an enterprise contact."""

    principal: Principal | None
    contact_name: str = ""
    device_id: str = ""

    @property
    def name(self) -> str:
        return self.principal.username if self.principal else self.contact_name


# ---- access ----


async def visible(
    session: AsyncSession, principal: Principal, inspection_id: int, permission: Permission
) -> Row:
    """403 without ``permission``, 404 outside the jurisdiction (as if it did not exist)."""
    require(principal, permission)
    row = await repository.get_row(session, inspection_id)
    require_governs(principal, row.org.path if row else "", INSPECTION, inspection_id)
    assert row is not None
    return row


def check_editable(row: Row, actor: Actor, action: tuple[str, str]) -> None:
    """Only its inspector (or, for a self-check, its contact) edits, and only while it is in
    progress or returned."""
    inspection = row.inspection
    if actor.principal is not None and inspection.inspector_user_id != actor.principal.user_id:
        raise NotTheInspector(action=action)
    if inspection.state not in EDITABLE_STATES:
        raise InspectionStateConflict(state=STATE_LABELS[inspection.state], action=action)


async def editable(
    session: AsyncSession, principal: Principal, inspection_id: int, action: tuple[str, str]
) -> Row:
    row = await visible(session, principal, inspection_id, Permission.INSPECTION_RUN)
    if row.inspection.kind == InspectionKind.SELF_CHECK:
        raise NotTheInspector(action=action)  # the contact fills it in, by invite
    check_editable(row, Actor(principal), action)
    return row


def audit_event(
    session: AsyncSession, action: str, row: Row, actor: Actor, origin: Origin, **detail: Any
) -> None:
    record(
        session,
        action,
        origin=origin,
        actor=actor.principal,
        actor_username=actor.contact_name,
        org_path=row.org.path,
        inspection_id=row.inspection.id,
        kind=row.inspection.kind.value,
        checkpoint_id=row.checkpoint.id,
        **detail,
    )


# ---- starting ----


async def checklist_for(
    session: AsyncSession, principal: Principal, org: Org, template_id: int | None
) -> ChecklistVersionOut:
    """The version a new inspection keeps: of ``template_id``, else of the default 明白纸 of
    the checkpoint's province bank (the nearest org above it that has one)."""
    if template_id is None:
        template_id = await session.scalar(
            select(ChecklistTemplate.id)
            .join(Org, ChecklistTemplate.org_id == Org.id)
            .where(
                ChecklistTemplate.code == DEFAULT_TEMPLATE_CODE,
                ChecklistTemplate.status == TemplateStatus.ACTIVE,
                Org.path.in_(ancestor_paths(org.path)),
            )
            .order_by(Org.path.desc())
            .limit(1)
        )
        if template_id is None:
            raise InvalidField(
                "body.template_id",
                "本机构没有可用的默认检查模板，请指定检查模板",
                "no default checklist template here; name one",
            )
    return await checklists.current_version(session, principal, template_id)


async def create_inspection(
    session: AsyncSession,
    checkpoint: Checkpoint,
    org: Org,
    version: ChecklistVersionOut,
    kind: InspectionKind,
    *,
    hooks: Sequence[InspectionHook],
    **values: Any,
) -> Row:
    """A new draft inspection; ``hooks`` (``INSPECTION_STARTED``) hear of it in the
    caller's transaction."""
    inspection = Inspection(
        kind=kind,
        state=InspectionState.DRAFT,
        checkpoint_id=checkpoint.id,
        org_id=org.id,
        checklist_version_id=version.id,
        started_at=utcnow(),
        answers={},
        flags=[],
        findings=[],
        **values,
    )
    session.add(inspection)
    await session.flush()
    row = await repository.get_row(session, inspection.id)
    assert row is not None
    await run_hooks(hooks, session, inspection, ())
    return row


def check_in_values(result: CheckInResult, fix: geo.Fix, now: datetime) -> dict[str, Any]:
    return {
        "checked_in_at": now,
        "checkin_outcome": result.outcome,
        "checkin_latitude": fix.latitude,
        "checkin_longitude": fix.longitude,
        "checkin_accuracy_m": fix.accuracy_m,
        "checkin_distance_m": round(result.distance_m, 1),
        "radius_m": result.radius_m,
    }


def record_check_in(
    session: AsyncSession,
    inspection: Inspection,
    result: CheckInResult,
    fix: geo.Fix,
    now: datetime,
    *,
    user_id: int | None,
    actor_name: str = "",
) -> None:
    """The inspection's check-in becomes this one (a rescan after 重置GPS binds the position
    anew: the old check-in no longer places it), and every one is kept in its history."""
    for name, value in check_in_values(result, fix, now).items():
        setattr(inspection, name, value)
    session.add(
        CheckIn(
            inspection_id=inspection.id,
            at=now,
            outcome=result.outcome,
            latitude=fix.latitude,
            longitude=fix.longitude,
            accuracy_m=fix.accuracy_m,
            distance_m=round(result.distance_m, 1),
            radius_m=result.radius_m,
            user_id=user_id,
            actor_name=actor_name,
        )
    )


async def start_on_site(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    *,
    qr: str,
    fix: geo.Fix,
    template_id: int | None,
    now: datetime,
    origin: Origin,
    hooks: Sequence[InspectionHook],
) -> tuple[Row, CheckInResult, bool]:
    """A valid QR label and a GPS fix at the checkpoint (the first one binds its position)
    start an on-site inspection, or resume the caller's one still in progress there
    (third value true)."""
    require(principal, Permission.INSPECTION_RUN)
    checkpoint, org, result = await checkpoints.check_in_by_qr(
        session, settings, principal, qr, fix, now=now, origin=origin
    )
    # Binding is a check-in too: a checkpoint inspected on site is never "never visited".
    checkpoint.last_checked_in_at = checkpoint.last_checked_in_at or now
    actor = Actor(principal)
    existing = await repository.open_on_site(session, checkpoint.id, principal.user_id)
    if existing is not None:
        record_check_in(session, existing, result, fix, now, user_id=principal.user_id)
        await session.flush()
        row = await repository.get_row(session, existing.id)
        assert row is not None
        audit_event(
            session,
            "inspection_resumed",
            row,
            actor,
            origin,
            outcome=result.outcome,
            distance_m=round(result.distance_m, 1),
        )
        return row, result, True
    version = await checklist_for(session, principal, org, template_id)
    row = await create_inspection(
        session,
        checkpoint,
        org,
        version,
        InspectionKind.ON_SITE,
        hooks=hooks,
        inspector_user_id=principal.user_id,
        **check_in_values(result, fix, now),  # what the start hooks see
    )
    record_check_in(session, row.inspection, result, fix, now, user_id=principal.user_id)
    await session.flush()
    audit_event(
        session,
        "inspection_started",
        row,
        actor,
        origin,
        outcome=result.outcome,
        distance_m=round(result.distance_m, 1),
        checklist_version_id=version.id,
    )
    return row, result, False


async def start_remote(
    session: AsyncSession,
    principal: Principal,
    *,
    remote_session_id: int,
    checkpoint_id: int | None,
    template_id: int | None,
    origin: Origin,
    hooks: Sequence[InspectionHook],
) -> Row:
    """The checklist beside a remote call (远程巡检): one inspection per remote session, of
    the checkpoint the session was opened for (or, for an older session, the one named)."""
    require(principal, Permission.INSPECTION_RUN)
    require(principal, Permission.REMOTE_RUN)
    found = (
        await session.execute(
            select(RemoteSession, Org.path)
            .join(Org, RemoteSession.org_id == Org.id)
            .where(RemoteSession.id == remote_session_id)
        )
    ).first()
    require_governs(principal, found[1] if found else "", "remote_session", remote_session_id)
    linked = await session.scalar(
        select(Inspection.id).where(Inspection.remote_session_id == remote_session_id)
    )
    if linked is not None:
        raise RemoteAlreadyLinked(inspection_id=linked)
    assert found is not None
    chosen = found[0].checkpoint_id
    if checkpoint_id is None and chosen is None:
        raise InvalidField(
            "body.checkpoint_id", "请选择被检查企业的检查点", "pick the enterprise's checkpoint"
        )
    if checkpoint_id is not None and chosen is not None and checkpoint_id != chosen:
        raise InvalidField(
            "body.checkpoint_id",
            "与本次远程巡检创建时选定的检查点不一致",
            "differs from the checkpoint the remote session was opened for",
        )
    checkpoint_id = checkpoint_id if checkpoint_id is not None else chosen
    assert checkpoint_id is not None
    checkpoint, org = await checkpoints.in_jurisdiction(
        session, principal, checkpoint_id, Permission.CHECKPOINT_READ
    )
    version = await checklist_for(session, principal, org, template_id)
    row = await create_inspection(
        session,
        checkpoint,
        org,
        version,
        InspectionKind.REMOTE,
        hooks=hooks,
        inspector_user_id=principal.user_id,
        remote_session_id=remote_session_id,
    )
    audit_event(
        session,
        "inspection_started",
        row,
        Actor(principal),
        origin,
        remote_session_id=remote_session_id,
        checklist_version_id=version.id,
    )
    return row


# ---- filling in ----


async def save(
    session: AsyncSession,
    row: Row,
    actor: Actor,
    changes: dict[str, Any],
) -> Row:
    """Save what was sent of ``answers`` (all of them, replaced), ``flags``,
    ``rectification_opinion``, or nothing: the offline sync, whose phone sends its whole
    record. Answers may be incomplete (the submission checks them fully) but never invalid.
    Draft saves from a page merge item by item instead (``merge``)."""
    check_editable(row, actor, ("保存", "save it"))
    inspection = row.inspection
    version = inspector_form(await checklists.get_version(session, inspection.checklist_version_id))
    errors = []
    if "answers" in changes:
        errors += supervisor_opinion_errors(changes["answers"], prefix="body.answers")
        errors += partial_errors(version, changes["answers"], prefix="body.answers")
    if "flags" in changes:
        errors += flag_errors(version, changes["flags"])
    if errors:
        raise ValidationFailed(errors)
    for name, value in changes.items():
        setattr(inspection, name, value)
    await session.flush()
    return row


async def merge(
    session: AsyncSession,
    row: Row,
    actor: Actor,
    changes: dict[str, Any],
) -> Merged:
    """A draft save (PATCH): ``answers`` merged item by item (``rules.merge_answers``), the
    ``flags`` list and ``rectification_opinion`` replaced when sent. What is valid is stored
    even when something else in the same save is refused; the result says both."""
    inspection = row.inspection
    # Two saves of one inspection at once (two tabs, a retry) each merge into what the other
    # stored: read it again under the row's lock (PostgreSQL; SQLite has one writer).
    await session.refresh(inspection, ["answers", "state"], with_for_update=True)
    check_editable(row, actor, ("保存", "save it"))
    version = inspector_form(await checklists.get_version(session, inspection.checklist_version_id))
    merged = merge_answers(
        version, inspection.answers or {}, changes.get("answers") or {}, prefix="body.answers"
    )
    refused = list(merged.refused)
    if merged.saved:
        inspection.answers = merged.answers
    if "flags" in changes:
        errors = flag_errors(version, changes["flags"])
        if errors:
            refused += errors
        else:
            inspection.flags = changes["flags"]
    if "rectification_opinion" in changes:
        inspection.rectification_opinion = changes["rectification_opinion"]
    await session.flush()
    return Merged(inspection.answers or {}, merged.saved, refused)


async def submit(
    session: AsyncSession,
    settings: Settings,
    row: Row,
    actor: Actor,
    *,
    fix: geo.Fix | None,
    now: datetime,
    origin: Origin,
    hooks: Sequence[InspectionHook] = (),
) -> list[Finding]:
    """Submit (or resubmit after a return): on site inside the radius, every required item
    answered, every required piece of evidence there. Stores the findings and tells
    ``hooks`` in the same transaction."""
    check_editable(row, actor, ("提交", "submit it"))
    inspection = row.inspection
    values: dict[str, Any] = {}
    if inspection.kind != InspectionKind.REMOTE:
        distance = place(settings, row.checkpoint, fix, now)
        assert fix is not None
        values = {
            "submit_latitude": fix.latitude,
            "submit_longitude": fix.longitude,
            "submit_accuracy_m": fix.accuracy_m,
            "submit_distance_m": round(distance, 1),
            "radius_m": effective_radius(settings, row.checkpoint),
        }
    version = inspector_form(await checklists.get_version(session, inspection.checklist_version_id))
    errors = validate_answers(version, inspection.answers, prefix="answers")
    if errors:
        raise ValidationFailed(errors)
    evidence = await repository.evidence_of(session, inspection.id)
    missing = missing_evidence(version, repository.counts(evidence), inspection.answers)
    if missing:
        raise EvidenceMissing(missing)
    findings = findings_of(version, inspection.answers, inspection.flags)
    conclusion = conclusion_of(version, inspection.answers)
    moved = await repository.move(
        session,
        inspection,
        EDITABLE_STATES,
        state=InspectionState.SUBMITTED,
        submitted_at=now,
        submission_count=inspection.submission_count + 1,
        findings=[f.to_json() for f in findings],
        conclusion=conclusion.value if conclusion else None,
        **values,
    )
    if not moved:
        raise InspectionStateConflict(
            state=STATE_LABELS[inspection.state], action=("提交", "submit it")
        )
    audit_event(
        session,
        "inspection_submitted",
        row,
        actor,
        origin,
        submission=inspection.submission_count,
        conclusion=inspection.conclusion,
        findings=len(findings),
        distance_m=values.get("submit_distance_m"),
        evidence=len(evidence),
    )
    await run_hooks(hooks, session, inspection, findings)
    return findings


# ---- reading ----


async def list_inspections(
    session: AsyncSession,
    principal: Principal,
    filters: dict[str, Any],
    *,
    org_id: int | None,
    offset: int,
    limit: int,
) -> tuple[list[Row], int]:
    require(principal, Permission.INSPECTION_READ)
    if org_id is not None:
        org = await session.get(Org, org_id)
        require_governs(principal, org.path if org else "", "org", org_id)
        assert org is not None
        filters = {**filters, "org_subtree": org.path}
    return await repository.page(session, principal.org_path, filters, offset=offset, limit=limit)


async def get_remote(session: AsyncSession, inspection: Inspection) -> RemoteSession | None:
    if inspection.remote_session_id is None:
        return None
    return await session.get(RemoteSession, inspection.remote_session_id)
