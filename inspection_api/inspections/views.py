"""The response shapes of inspections, built from rows (shared by staff and self-check routes)."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.auth.permissions import Permission, permissions_of
from inspection_api.auth.principal import Principal
from inspection_api.checklists import service as checklists
from inspection_api.checklists.rules import missing_evidence
from inspection_api.checkpoints.checkin import effective_radius
from inspection_api.db import utcnow
from inspection_api.inspections import repository
from inspection_api.inspections.evidence import signed_url
from inspection_api.inspections.models import EDITABLE_STATES, Evidence, InspectionState
from inspection_api.inspections.repository import Row
from inspection_api.inspections.rules import inspector_form
from inspection_api.inspections.schemas import (
    CheckInOut,
    CheckpointBriefOut,
    EvidenceOut,
    FindingOut,
    FlagOut,
    InspectionDetailOut,
    InspectionOut,
    InviteOut,
    MissingOut,
    PlaceOut,
    RemoteBriefOut,
    ReviewOut,
)
from inspection_api.inspections.selfcheck import invites_of
from inspection_api.inspections.service import get_remote
from loancheck.settings import Settings
from storage.base import ObjectStore


def summary(row: Row) -> InspectionOut:
    inspection, checkpoint = row.inspection, row.checkpoint
    return InspectionOut(
        id=inspection.id,
        kind=inspection.kind,
        state=inspection.state,
        checkpoint_id=checkpoint.id,
        checkpoint_name=checkpoint.name,
        checkpoint_code=checkpoint.code,
        customer_name=checkpoint.customer_name,
        org_id=row.org.id,
        org_name=row.org.name,
        inspector_user_id=inspection.inspector_user_id,
        inspector_name=row.inspector_name,
        contact_name=inspection.contact_name,
        checklist_version_id=inspection.checklist_version_id,
        remote_session_id=inspection.remote_session_id,
        started_at=inspection.started_at,
        submitted_at=inspection.submitted_at,
        submission_count=inspection.submission_count,
        conclusion=inspection.conclusion,
        findings_count=len(inspection.findings or []),
        reviewed_at=inspection.reviewed_at,
        updated_at=inspection.updated_at,
        offline=inspection.offline,
        device_started_at=inspection.device_started_at,
        received_at=inspection.received_at,
        clock_offset_seconds=inspection.clock_offset_seconds,
        clock_flagged=inspection.clock_flagged,
        sync_delay_seconds=inspection.sync_delay_seconds,
    )


async def evidence_out(store: ObjectStore, item: Evidence) -> EvidenceOut:
    return EvidenceOut(
        id=item.id,
        item_key=item.item_key,
        kind=item.kind,  # type: ignore[arg-type]
        mime_type=item.mime_type,
        size_bytes=item.size_bytes,
        sha256=item.sha256,
        captured_at=item.captured_at,
        latitude=item.latitude,
        longitude=item.longitude,
        accuracy_m=item.accuracy_m,
        distance_m=item.distance_m,
        recording_offset_seconds=item.recording_offset_seconds,
        uploader_name=item.uploader_name,
        device_id=item.device_id,
        created_at=item.created_at,
        url=await signed_url(store, item),
    )


def _check_in(row: Row) -> PlaceOut | None:
    i = row.inspection
    if i.checkin_latitude is None or i.checkin_longitude is None:
        return None
    return PlaceOut(
        at=i.checked_in_at,
        latitude=i.checkin_latitude,
        longitude=i.checkin_longitude,
        accuracy_m=i.checkin_accuracy_m,
        distance_m=i.checkin_distance_m,
        outcome=i.checkin_outcome,
    )


def _submit_fix(row: Row) -> PlaceOut | None:
    i = row.inspection
    if i.submit_latitude is None or i.submit_longitude is None:
        return None
    return PlaceOut(
        at=i.submitted_at,
        latitude=i.submit_latitude,
        longitude=i.submit_longitude,
        accuracy_m=i.submit_accuracy_m,
        distance_m=i.submit_distance_m,
    )


async def detail(
    session: AsyncSession,
    store: ObjectStore,
    settings: Settings,
    row: Row,
    principal: Principal | None,
) -> InspectionDetailOut:
    """Everything about one inspection; ``principal`` None is its self-check contact."""
    inspection, checkpoint = row.inspection, row.checkpoint
    version = inspector_form(await checklists.get_version(session, inspection.checklist_version_id))
    evidence = await repository.evidence_of(session, inspection.id)
    missing = missing_evidence(version, repository.counts(evidence), inspection.answers)
    remote = await get_remote(session, inspection)
    now = utcnow()
    invites = []
    if principal is not None:
        for invite in await invites_of(session, inspection.id):
            status: Literal["valid", "expired", "revoked"] = (
                "revoked"
                if invite.revoked_at is not None
                else "expired"
                if now >= invite.expires_at
                else "valid"
            )
            invites.append(
                InviteOut(
                    id=invite.id,
                    contact_name=invite.contact_name,
                    created_at=invite.created_at,
                    expires_at=invite.expires_at,
                    revoked_at=invite.revoked_at,
                    status=status,
                    device_bound=invite.device_id is not None,
                )
            )
    granted = permissions_of(principal) if principal else frozenset()
    editable = inspection.state in EDITABLE_STATES
    if principal is None:
        can_edit = editable
    else:
        can_edit = (
            editable
            and Permission.INSPECTION_RUN in granted
            and inspection.inspector_user_id == principal.user_id
        )
    can_review = (
        principal is not None
        and inspection.state == InspectionState.SUBMITTED
        and Permission.INSPECTION_REVIEW in granted
        and inspection.inspector_user_id != principal.user_id
    )
    return InspectionDetailOut(
        **summary(row).model_dump(),
        answers=inspection.answers or {},
        flags=[FlagOut.model_validate(f) for f in inspection.flags or []],
        findings=[FindingOut.model_validate(f) for f in inspection.findings or []],
        rectification_opinion=inspection.rectification_opinion,
        review_comment=inspection.review_comment,
        radius_m=inspection.radius_m,
        check_in=_check_in(row),
        check_ins=[
            CheckInOut(
                at=c.at,
                outcome=c.outcome,
                bound_position=c.outcome == "bound",
                latitude=c.latitude,
                longitude=c.longitude,
                accuracy_m=c.accuracy_m,
                distance_m=c.distance_m,
                radius_m=c.radius_m,
                by_name=name,
            )
            for c, name in await repository.check_ins_of(session, inspection.id)
        ],
        submit_fix=_submit_fix(row),
        checkpoint=CheckpointBriefOut(
            id=checkpoint.id,
            name=checkpoint.name,
            code=checkpoint.code,
            customer_name=checkpoint.customer_name,
            address=checkpoint.address,
            latitude=checkpoint.latitude,
            longitude=checkpoint.longitude,
            effective_radius_m=effective_radius(settings, checkpoint),
        ),
        checklist=version,
        evidence=[await evidence_out(store, item) for item in evidence],
        missing_evidence=[
            MissingOut(
                item_key=m.item_key,
                item_label=m.item_label,
                kind=m.kind,
                required=m.required,
                present=m.present,
                missing=m.missing,
            )
            for m in missing
        ],
        reviews=[
            ReviewOut.model_validate(r) for r in await repository.reviews_of(session, inspection.id)
        ],
        remote_session=RemoteBriefOut(
            id=remote.id,
            title=remote.title,
            state=remote.state.value,
            started_at=remote.started_at,
            ended_at=remote.ended_at,
            replay_url=f"/replay/{remote.id}",
        )
        if remote
        else None,
        invites=invites,
        can_edit=can_edit,
        can_review=can_review,
    )
