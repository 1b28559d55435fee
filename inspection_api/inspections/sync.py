"""Offline inspections (离线检查): made on a phone without network, synced later.

The phone keeps everything (answers, the scanned label, the fixes, the captures and their
SHA-256) and sends it when it can: the files by resumable upload (``inspection_api.uploads``),
then each inspection by its own UUID. Syncing is idempotent: each inspection and each piece
of evidence carries the phone's UUID, unique in the database, so a batch sent twice, at
once, or again after a crash mid-way lands once.

The server checks what it checks online (the label's signature and generation, the fix's
radius, accuracy and age, each capture's window, fix, type and hash) at the phone's times:
a fix is as fresh as it was at the scan, not at the sync. Those times are the phone's
clock; the sync measures it against the server's (``sent_at`` against receipt) and flags
the record when it is off by more than ``CLOCK_TOLERANCE``; stored times never pass the
receipt. A sync days later is accepted and marked with its delay.

A batch is written in one transaction (``sync_batch``); when an inspection of it is refused,
that one goes again alone, step by step, each step committing on its own: a refused capture
keeps the inspection and the captures before it; the phone keeps what was refused, with the
reason, and can export it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.audit.service import Origin
from inspection_api.auth.permissions import Permission, require
from inspection_api.auth.principal import Principal
from inspection_api.checklists import service as checklists
from inspection_api.checklists.schemas import ChecklistVersionOut
from inspection_api.checkpoints import service as checkpoints
from inspection_api.db import one_writer
from inspection_api.errors import InspectionError
from inspection_api.inspections import service
from inspection_api.inspections.errors import InspectionStateConflict
from inspection_api.inspections.evidence import Upload, attach_upload, inspection_form
from inspection_api.inspections.hooks import InspectionHook
from inspection_api.inspections.models import (
    EDITABLE_STATES,
    Evidence,
    Inspection,
    InspectionKind,
)
from inspection_api.inspections.repository import Row
from inspection_api.inspections.sync_records import (
    CaptureOutcome,
    OfflineCapture,
    OfflineInspection,
    Receipt,
    SyncOutcome,
    clock_flagged,
)
from inspection_api.uploads import service as uploads
from inspection_api.uploads.errors import UploadInUse
from inspection_api.uploads.models import ResumableUpload
from loancheck.settings import Settings

_RETRIES = 5
T = TypeVar("T")


# An ``async_sessionmaker``, or one that also hands each session's committed pushes to the
# route's session (``sync_endpoints``), which delivers them after its own commit.
Sessions = Callable[[], AbstractAsyncContextManager[AsyncSession]]


class Party(Protocol):
    """Who syncs: a staff member (``Staff``) or an enterprise contact by a self-check link
    (``selfcheck_sync.Link``): whose uploads the captures are, who acts, and how the
    inspection is created (or found again) from the phone's record."""

    @property
    def owner(self) -> uploads.Owner: ...

    def actor(self, device_id: str = "") -> service.Actor: ...

    async def row(self, session: AsyncSession, item: OfflineInspection) -> Row: ...

    async def create(
        self,
        session: AsyncSession,
        settings: Settings,
        item: OfflineInspection,
        receipt: Receipt,
        *,
        origin: Origin,
        hooks: Sequence[InspectionHook],
    ) -> Row: ...


@dataclass(frozen=True)
class Staff:
    """A staff member's sync: the label names the checkpoint, in their jurisdiction."""

    principal: Principal

    @property
    def owner(self) -> uploads.Owner:
        return uploads.Owner(user_id=self.principal.user_id)

    def actor(self, device_id: str = "") -> service.Actor:
        return service.Actor(self.principal, device_id=device_id)

    async def row(self, session: AsyncSession, item: OfflineInspection) -> Row:
        return await _row_of(session, self.principal, item)

    async def create(
        self,
        session: AsyncSession,
        settings: Settings,
        item: OfflineInspection,
        receipt: Receipt,
        *,
        origin: Origin,
        hooks: Sequence[InspectionHook],
    ) -> Row:
        return await _create(
            session, settings, self.principal, item, receipt, origin=origin, hooks=hooks
        )


def _party(who: Principal | Party) -> Party:
    return Staff(who) if isinstance(who, Principal) else who


async def _in_transaction(sessions: Sessions, step: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``step`` and commit; a unique-key race (another sync of the same UUID won) or a
    busy SQLite file retries it, and the retry finds what the winner stored."""
    for attempt in range(_RETRIES):
        async with sessions() as session, one_writer(session):
            try:
                result = await step(session)
                await session.commit()
                return result
            except (IntegrityError, OperationalError) as exc:
                await session.rollback()
                if isinstance(exc, OperationalError) and "locked" not in str(exc):
                    raise
                if attempt == _RETRIES - 1:
                    raise
            except BaseException:
                await session.rollback()
                raise
        await asyncio.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


async def by_client_uuid(session: AsyncSession, client_uuid: str) -> Inspection | None:
    return await session.scalar(select(Inspection).where(Inspection.client_uuid == client_uuid))


async def _evidence_by_uuid(session: AsyncSession, client_uuid: str) -> Evidence | None:
    return await session.scalar(select(Evidence).where(Evidence.client_uuid == client_uuid))


async def _row_of(session: AsyncSession, principal: Principal, item: OfflineInspection) -> Row:
    existing = await by_client_uuid(session, item.client_uuid)
    assert existing is not None
    row = await service.visible(session, principal, existing.id, Permission.INSPECTION_RUN)
    return row


# Forms read in a batch's transaction, kept in its session (``session.info``): the
# inspections of a batch mostly share one form, read and validated once instead of twice
# per inspection. A new transaction (a retry, the next batch) has a new session.
_FORMS = "loancheck.sync.forms"


def _forms(session: AsyncSession) -> dict[tuple[Any, ...], ChecklistVersionOut]:
    forms: dict[tuple[Any, ...], ChecklistVersionOut] = session.info.setdefault(_FORMS, {})
    return forms


async def _form(session: AsyncSession, row: Row) -> ChecklistVersionOut:
    """``evidence.inspection_form``, once per form and transaction."""
    key = ("form", row.inspection.checklist_version_id)
    forms = _forms(session)
    if key not in forms:
        forms[key] = await inspection_form(session, row)
    return forms[key]


async def _version(
    session: AsyncSession, principal: Principal, org: Any, item: OfflineInspection
) -> ChecklistVersionOut:
    """``_find_version``, once per transaction for the same org and the same form."""
    key = ("version", org.id, item.template_id, item.checklist_version_id)
    forms = _forms(session)
    if key not in forms:
        forms[key] = await _find_version(session, principal, org, item)
    return forms[key]


async def _find_version(
    session: AsyncSession, principal: Principal, org: Any, item: OfflineInspection
) -> ChecklistVersionOut:
    """The form the phone filled in when it is a version of the template that applies (it
    may have been replaced while the phone was offline), else the current one."""
    current = await service.checklist_for(session, principal, org, item.template_id)
    if item.checklist_version_id is None or item.checklist_version_id == current.id:
        return current
    try:
        filled = await checklists.get_version(session, item.checklist_version_id)
    except InspectionError:
        return current
    if filled is not None and filled.template_id == current.template_id:
        return filled
    return current


async def _create(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    item: OfflineInspection,
    receipt: Receipt,
    *,
    origin: Origin,
    hooks: Sequence[InspectionHook],
) -> Row:
    """The inspection as the scan placed it, at the phone's time of the scan."""
    existing = await by_client_uuid(session, item.client_uuid)
    if existing is not None:
        row = await _row_of(session, principal, item)
        if row.inspection.state in EDITABLE_STATES and row.inspection.submission_count == 0:
            await service.save(
                session,
                row,
                service.Actor(principal),
                {"answers": item.answers, "flags": item.flags},
            )
        return row
    require(principal, Permission.INSPECTION_RUN)
    # The check-in exactly as online (QR signature and generation, jurisdiction, accuracy,
    # mock, age and radius), judged at the moment of the scan.
    checkpoint, org, result = await checkpoints.check_in_by_qr(
        session, settings, principal, item.qr, item.scan_fix, now=item.started_at, origin=origin
    )
    checkpoint.last_checked_in_at = receipt.bounded(item.started_at)
    if checkpoint.bound_at is not None:  # bound by this scan, at the phone's time
        checkpoint.bound_at = receipt.bounded(checkpoint.bound_at)
    version = await _version(session, principal, org, item)
    started = receipt.bounded(item.started_at)
    row = await service.create_inspection(
        session,
        checkpoint,
        org,
        version,
        InspectionKind.ON_SITE,
        hooks=hooks,
        inspector_user_id=principal.user_id,
        client_uuid=item.client_uuid,
        offline=True,
        device_started_at=item.started_at,
        received_at=receipt.received_at,
        clock_offset_seconds=receipt.offset_seconds,
        clock_flagged=clock_flagged(receipt, item),
        **service.check_in_values(result, item.scan_fix, started),
    )
    row.inspection.started_at = started
    await service.save(
        session, row, service.Actor(principal), {"answers": item.answers, "flags": item.flags}
    )
    service.audit_event(
        session,
        "inspection_started",
        row,
        service.Actor(principal),
        origin,
        offline=True,
        client_uuid=item.client_uuid,
        device_started_at=item.started_at.isoformat(),
        clock_offset_seconds=receipt.offset_seconds,
        outcome=result.outcome,
        distance_m=round(result.distance_m, 1),
        checklist_version_id=version.id,
    )
    return row


@dataclass
class _Known:
    """What one transaction attaching an inspection's captures read once: the captures
    attached before (client UUID → evidence id) and the inspection's row."""

    attached: dict[str, int]
    row: Row | None = None
    form: ChecklistVersionOut | None = None  # its form, the same for each capture
    # Held so the session's identity map (weak references) keeps them: ``uploads.get``
    # then finds each in the session instead of asking the database again.
    uploads: list[ResumableUpload] = field(default_factory=list)


async def _known(session: AsyncSession, item: OfflineInspection) -> _Known:
    """Two queries for all the captures of ``item``, not two each: the evidence already
    attached, and the uploads (into the session, so ``uploads.get`` asks nothing more)."""
    uuids = [c.client_uuid for c in item.evidence]
    attached = await session.execute(
        select(Evidence.client_uuid, Evidence.id).where(Evidence.client_uuid.in_(uuids))
    )
    ids = [c.upload_id for c in item.evidence]
    loaded = (
        await session.scalars(select(ResumableUpload).where(ResumableUpload.id.in_(ids)))
    ).all()
    return _Known(attached={u: id_ for u, id_ in attached if u is not None}, uploads=list(loaded))


async def _capture(
    session: AsyncSession,
    settings: Settings,
    party: Party,
    item: OfflineInspection,
    capture: OfflineCapture,
    receipt: Receipt,
    *,
    origin: Origin,
    known: _Known | None = None,
) -> CaptureOutcome:
    if known is None:
        found = await _evidence_by_uuid(session, capture.client_uuid)
        found_id = found.id if found is not None else None
    else:
        found_id = known.attached.get(capture.client_uuid)
    if found_id is not None:
        return CaptureOutcome(capture.client_uuid, "attached", found_id)
    stored: ResumableUpload = await uploads.get(session, party.owner, capture.upload_id)
    if stored.completed_at is None:
        return CaptureOutcome(capture.client_uuid, "waiting")
    form = None
    if known is not None and known.row is not None:
        row, form = known.row, known.form  # the same transaction: what attaching changed
    else:
        row = await party.row(session, item)
        if known is not None:
            known.row, known.form = row, await _form(session, row)
            form = known.form
    inspection = row.inspection
    assert inspection.device_started_at is not None
    upload = Upload(
        item_key=capture.item_key,
        kind=capture.kind,
        content_type=stored.content_type,
        sha256=capture.sha256,
        captured_at=capture.captured_at,
        device_id=item.device_id,
        fix=capture.fix,
        declared_size=stored.length,
    )
    # The window in the phone's clock: from its scan until it sent the batch.
    window = (inspection.device_started_at, receipt.sent_at)
    try:
        evidence = await attach_upload(
            session,
            settings,
            row,
            party.actor(item.device_id),
            upload,
            stored,
            client_uuid=capture.client_uuid,
            window=window,
            received_at=receipt.received_at,
            origin=origin,
            form=form,
        )
    except (UploadInUse, InspectionStateConflict):
        # Another copy of this sync attached it (and maybe submitted) since our first look.
        found = await _evidence_by_uuid(session, capture.client_uuid)
        if found is None:
            raise
        return CaptureOutcome(capture.client_uuid, "attached", found.id)
    if known is not None:
        known.attached[capture.client_uuid] = evidence.id
    return CaptureOutcome(capture.client_uuid, "attached", evidence.id)


async def _submit(
    session: AsyncSession,
    settings: Settings,
    party: Party,
    item: OfflineInspection,
    receipt: Receipt,
    *,
    origin: Origin,
    hooks: Sequence[InspectionHook],
) -> None:
    row = await party.row(session, item)
    inspection = row.inspection
    if inspection.submission_count > 0:
        return  # submitted by an earlier sync (and maybe reviewed since): nothing to redo
    assert item.submitted_at is not None
    await service.submit(
        session,
        settings,
        row,
        party.actor(),
        fix=item.submit_fix,
        now=item.submitted_at,
        origin=origin,
        hooks=hooks,
    )
    inspection.submitted_at = receipt.bounded(item.submitted_at)
    # Measured on the phone's own clock (submitted → sent), so an offset does not add to it.
    inspection.sync_delay_seconds = round(
        max(0.0, (receipt.sent_at - item.submitted_at).total_seconds()), 3
    )
    inspection.clock_flagged = inspection.clock_flagged or clock_flagged(receipt, item)
    await session.flush()


class _Refused(Exception):
    """An inspection of a batch was refused, or one of its captures: the batch's transaction
    is undone and that inspection goes alone, so its refusal is said and nothing is lost."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


async def _whole(
    session: AsyncSession,
    settings: Settings,
    party: Party,
    item: OfflineInspection,
    receipt: Receipt,
    *,
    origin: Origin,
    started: Sequence[InspectionHook],
    submitted: Sequence[InspectionHook],
) -> SyncOutcome:
    """One inspection inside a batch's transaction: created (or found), every capture whose
    upload is complete attached, submitted when the phone did and everything is there. The
    first refusal raises (``InspectionError``)."""
    row = await party.create(session, settings, item, receipt, origin=origin, hooks=started)
    outcome = SyncOutcome(item.client_uuid, "saved", row.inspection.id)
    known = await _known(session, item)
    # The row ``_create`` made or found visible in this transaction: not looked up again.
    known.row = row
    known.form = await _form(session, row)
    for capture in item.evidence:
        outcome.evidence.append(
            await _capture(
                session, settings, party, item, capture, receipt, origin=origin, known=known
            )
        )
    if item.submitted_at is not None and all(c.status == "attached" for c in outcome.evidence):
        await _submit(session, settings, party, item, receipt, origin=origin, hooks=submitted)
    return outcome


async def sync_batch(
    sessions: Sessions,
    settings: Settings,
    principal: Principal | Party,
    items: Sequence[OfflineInspection],
    receipt: Receipt,
    *,
    origin: Origin,
    started: Sequence[InspectionHook],
    submitted: Sequence[InspectionHook],
) -> list[SyncOutcome]:
    """``sync_inspection`` for each of ``items``, in one write transaction for all of them
    (one commit, one turn of the writer lock, instead of two or three per inspection). When
    one is refused, that transaction is undone: those before it go again together, the
    refused one alone (``sync_inspection``: one step at a time, saying why and keeping
    what it can), and those after it as the next batch. ``principal``: a staff member, or
    the ``Party`` that syncs."""
    if not items:
        return []
    party = _party(principal)

    async def all_in_one(session: AsyncSession) -> list[SyncOutcome]:
        outcomes = []
        for index, item in enumerate(items):
            try:
                outcomes.append(
                    await _whole(
                        session,
                        settings,
                        party,
                        item,
                        receipt,
                        origin=origin,
                        started=started,
                        submitted=submitted,
                    )
                )
            except InspectionError as exc:
                raise _Refused(index) from exc
        return outcomes

    try:
        outcomes = await _in_transaction(sessions, all_in_one)
    except _Refused as refused:
        k = refused.index
        before = await sync_batch(
            sessions,
            settings,
            party,
            items[:k],
            receipt,
            origin=origin,
            started=started,
            submitted=submitted,
        )
        alone = await sync_inspection(
            sessions,
            settings,
            party,
            items[k],
            receipt,
            origin=origin,
            started=started,
            submitted=submitted,
        )
        after = await sync_batch(
            sessions,
            settings,
            party,
            items[k + 1 :],
            receipt,
            origin=origin,
            started=started,
            submitted=submitted,
        )
        return [*before, alone, *after]
    # Submitted by this sync or by another copy of it that won the race: one read for all.
    ids = [o.inspection_id for o in outcomes]
    async with sessions() as session:
        found = await session.execute(
            select(Inspection.id, Inspection.submission_count).where(Inspection.id.in_(ids))
        )
        submitted_ids = {id_ for id_, count in found if count > 0}
    for outcome in outcomes:
        if outcome.inspection_id in submitted_ids:
            outcome.status, outcome.problem = "submitted", None
    return outcomes


async def sync_inspection(
    sessions: Sessions,
    settings: Settings,
    principal: Principal | Party,
    item: OfflineInspection,
    receipt: Receipt,
    *,
    origin: Origin,
    started: Sequence[InspectionHook],
    submitted: Sequence[InspectionHook],
) -> SyncOutcome:
    """Create (or find) the inspection, attach each capture whose upload is complete, and
    submit when the phone did and everything is there. Refusals are outcomes, not raised."""
    party = _party(principal)
    outcome = SyncOutcome(item.client_uuid, "saved")
    try:
        row = await _in_transaction(
            sessions,
            lambda s: party.create(s, settings, item, receipt, origin=origin, hooks=started),
        )
    except InspectionError as exc:
        outcome.status, outcome.problem = "refused", exc
        return outcome
    outcome.inspection_id = row.inspection.id

    async def attach_all(session: AsyncSession) -> list[CaptureOutcome]:
        known = await _known(session, item)
        return [
            await _capture(session, settings, party, item, c, receipt, origin=origin, known=known)
            for c in item.evidence
        ]

    try:
        # Usually every capture is fine: one transaction for all of them.
        outcome.evidence = await _in_transaction(sessions, attach_all)
        captures: Sequence[OfflineCapture] = ()
    except InspectionError:
        captures = item.evidence  # one by one, so each refusal is said and the rest kept
    for capture in captures:
        try:
            result = await _in_transaction(
                sessions,
                lambda s, c=capture: _capture(  # type: ignore[misc]
                    s, settings, party, item, c, receipt, origin=origin
                ),
            )
        except InspectionError as exc:
            result = CaptureOutcome(capture.client_uuid, "refused", problem=exc)
        outcome.evidence.append(result)
    complete = all(c.status == "attached" for c in outcome.evidence)
    if item.submitted_at is not None and complete:
        try:
            await _in_transaction(
                sessions,
                lambda s: _submit(
                    s, settings, party, item, receipt, origin=origin, hooks=submitted
                ),
            )
        except InspectionError as exc:
            outcome.problem = exc
    async with sessions() as session:
        current = await session.get(Inspection, row.inspection.id)
        assert current is not None
        if current.submission_count > 0:
            # Submitted, by this sync or by another copy of it that won the race.
            outcome.status, outcome.problem = "submitted", None
    return outcome
