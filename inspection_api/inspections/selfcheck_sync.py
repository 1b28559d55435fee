"""企业自检 offline: an enterprise contact's self-check made without network, synced later.

The contact has no account: the invite link is the credential (``selfcheck``), bound to the
phone that opened it. The phone sends its files by tus under the link (an upload owned by
the invite, ``uploads.Owner``) and then its record, which the staff sync (``sync``) lands
through ``Link``, a ``sync.Party``: the invite fixes the inspection (created by staff with
the link) and so the checkpoint and the form; the scanned label, when the phone sends one,
must be that checkpoint's current label; the fix is checked against the bound position at
the phone's time of the scan, as the online check-in does now. The record is the
inspection's once (its ``client_uuid``): a replay finds it, another record of the same
self-check is refused (``SelfCheckSyncedElsewhere``), and so is one submitted online.

The link must still be open when the sync arrives (the server's clock at receipt): valid
while ``received_at < expires_at`` — the same rule as every call by the link — and not
revoked. A sync at or after the link's end is refused (``SelfCheckLinkClosed``) and stores
nothing; the phone keeps its record, which it can export.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.audit.service import Origin
from inspection_api.beijing import second_text
from inspection_api.checkpoints import qr
from inspection_api.checkpoints import service as checkpoints
from inspection_api.checkpoints.errors import QrRetired
from inspection_api.db import one_writer
from inspection_api.inspections import repository, selfcheck, service, sync, sync_records
from inspection_api.inspections.errors import (
    CheckpointNotLocated,
    SelfCheckLinkClosed,
    SelfCheckSyncedElsewhere,
    SelfCheckWrongLabel,
)
from inspection_api.inspections.hooks import InspectionHook
from inspection_api.inspections.models import (
    EDITABLE_STATES,
    Evidence,
    Inspection,
    SelfCheckInvite,
)
from inspection_api.inspections.repository import Row
from inspection_api.uploads import service as uploads
from loancheck.settings import Settings


def _closed(invite: SelfCheckInvite, now: datetime) -> SelfCheckLinkClosed | None:
    """Why the link admits nothing at ``now`` (the server's clock), or None while it does:
    open strictly before ``expires_at``."""
    if invite.revoked_at is not None:
        at = second_text(invite.revoked_at)
        return SelfCheckLinkClosed(closed=(f"已于 {at} 被撤销", f"was revoked at {at}"))
    if now >= invite.expires_at:
        at = second_text(invite.expires_at)
        return SelfCheckLinkClosed(closed=(f"已于 {at} 过期", f"expired at {at}"))
    return None


async def admit(
    session: AsyncSession, token: str, device_id: str, *, now: datetime
) -> SelfCheckInvite:
    """The invite a link stands for, open at ``now`` and on this phone (bound at its first
    use, as ``selfcheck.resolve`` does): InviteNotFound (404), SelfCheckLinkClosed (410),
    InviteInUse (409)."""
    selfcheck.check_device_id(device_id)
    invite = await selfcheck.find_invite(session, token)
    closed = _closed(invite, now)
    if closed is not None:
        raise closed
    await selfcheck.bind_device(session, invite, device_id)
    return invite


def owner(invite: SelfCheckInvite) -> uploads.Owner:
    """The uploads of a link are the link's: another link (or staff) sees none of them."""
    return uploads.Owner(invite_id=invite.id)


@dataclass(frozen=True)
class Link:
    """A self-check link's sync (``sync.Party``)."""

    invite_id: int
    inspection_id: int
    contact_name: str
    device_id: str

    @classmethod
    def of(cls, invite: SelfCheckInvite) -> Link:
        assert invite.device_id is not None
        return cls(invite.id, invite.inspection_id, invite.contact_name, invite.device_id)

    @property
    def owner(self) -> uploads.Owner:
        return uploads.Owner(invite_id=self.invite_id)

    def actor(self, device_id: str = "") -> service.Actor:
        # The phone the link is bound to, whatever the record says.
        return service.Actor(None, contact_name=self.contact_name, device_id=self.device_id)

    async def row(self, session: AsyncSession, item: sync_records.OfflineInspection) -> Row:
        row = await repository.get_row(session, self.inspection_id)
        assert row is not None  # a foreign key
        if row.inspection.client_uuid != item.client_uuid:
            raise SelfCheckSyncedElsewhere()
        return row

    async def create(
        self,
        session: AsyncSession,
        settings: Settings,
        item: sync_records.OfflineInspection,
        receipt: sync_records.Receipt,
        *,
        origin: Origin,
        hooks: Sequence[InspectionHook],
    ) -> Row:
        """The self-check takes the phone's record: the link open at receipt, the label (if
        scanned) the checkpoint's, the fix at the scan inside the radius; then its answers.
        A replay finds it and saves the answers again while it is not submitted."""
        invite = await session.get(SelfCheckInvite, self.invite_id)
        assert invite is not None
        closed = _closed(invite, receipt.received_at)
        if closed is not None:
            raise closed
        # Claimed for this record at most once: two copies of the sync at once, one wins
        # (the other's update waits for it and then matches nothing).
        claimed = await session.execute(
            update(Inspection)
            .where(
                Inspection.id == self.inspection_id,
                Inspection.client_uuid.is_(None),
                Inspection.submission_count == 0,
            )
            .values(client_uuid=item.client_uuid)
            .execution_options(synchronize_session=False)
        )
        row = await repository.get_row(session, self.inspection_id)
        assert row is not None
        await session.refresh(row.inspection)
        inspection = row.inspection
        if inspection.client_uuid != item.client_uuid:
            raise SelfCheckSyncedElsewhere()
        actor = self.actor()
        changes = {"answers": item.answers, "flags": item.flags}
        if not getattr(claimed, "rowcount", 0):  # a replay
            if inspection.state in EDITABLE_STATES and inspection.submission_count == 0:
                await service.save(session, row, actor, changes)
            return row
        checkpoint = row.checkpoint
        if item.qr:
            ref = qr.verify(settings.secret_key, item.qr)
            if ref.checkpoint_id != checkpoint.id:
                raise SelfCheckWrongLabel(name=checkpoint.name)
            if ref.generation != checkpoint.qr_generation:
                raise QrRetired()
        if not checkpoint.is_bound:  # reset since the invite: the contact may not bind it
            raise CheckpointNotLocated(name=checkpoint.name, hint=selfcheck.NOT_LOCATED)
        # The online check-in, judged at the moment of the scan (accuracy, age, radius).
        result = await checkpoints.check_in(
            session,
            settings,
            checkpoint,
            item.scan_fix,
            actor=None,
            actor_name=self.contact_name,
            now=item.started_at,
            origin=origin,
        )
        checkpoint.last_checked_in_at = receipt.bounded(item.started_at)
        service.record_check_in(
            session,
            inspection,
            result,
            item.scan_fix,
            receipt.bounded(item.started_at),
            user_id=None,
            actor_name=self.contact_name,
        )
        inspection.offline = True
        inspection.device_started_at = item.started_at
        inspection.received_at = receipt.received_at
        inspection.clock_offset_seconds = receipt.offset_seconds
        inspection.clock_flagged = sync_records.clock_flagged(receipt, item)
        await service.save(session, row, actor, changes)
        service.audit_event(
            session,
            "self_check_synced",
            row,
            actor,
            origin,
            offline=True,
            client_uuid=item.client_uuid,
            invite_id=self.invite_id,
            device_started_at=item.started_at.isoformat(),
            clock_offset_seconds=receipt.offset_seconds,
            outcome=result.outcome,
            distance_m=round(result.distance_m, 1),
            label_scanned=bool(item.qr),
        )
        return row


async def link_for_sync(
    sessions: sync.Sessions, token: str, device_id: str, *, now: datetime
) -> Link:
    """Admit the link at the sync's receipt in a transaction of its own (it may bind the
    phone), before the sync's transactions."""
    async with sessions() as session, one_writer(session):
        invite = await admit(session, token, device_id, now=now)
        await session.commit()
        return Link.of(invite)


async def landed_before(
    sessions: sync.Sessions, token: str, device_id: str, item: sync_records.OfflineInspection
) -> sync_records.SyncOutcome | None:
    """What an earlier sync of this very record stored, when it was submitted: a phone that
    never heard that answer hears it again, even after the link closed (nothing changes).
    None for anything else (another record, another phone, not submitted)."""
    async with sessions() as session:
        invite = await selfcheck.find_invite(session, token)
        inspection = await session.get(Inspection, invite.inspection_id)
        assert inspection is not None
        if (
            invite.device_id != device_id
            or inspection.client_uuid != item.client_uuid
            or inspection.submission_count == 0
        ):
            return None
        uuids = [c.client_uuid for c in item.evidence]
        found = await session.execute(
            select(Evidence.client_uuid, Evidence.id).where(
                Evidence.inspection_id == inspection.id, Evidence.client_uuid.in_(uuids)
            )
        )
        attached = {u: id_ for u, id_ in found.all()}
    outcome = sync_records.SyncOutcome(item.client_uuid, "submitted", inspection.id)
    for capture in item.evidence:
        if capture.client_uuid in attached:
            outcome.evidence.append(
                sync_records.CaptureOutcome(
                    capture.client_uuid, "attached", attached[capture.client_uuid]
                )
            )
        else:  # not part of what was submitted: this record changed since
            return None
    return outcome


async def sync_self_check(
    sessions: sync.Sessions,
    settings: Settings,
    link: Link,
    item: sync_records.OfflineInspection,
    receipt: sync_records.Receipt,
    *,
    origin: Origin,
    submitted: Sequence[InspectionHook],
) -> sync_records.SyncOutcome:
    """The staff sync's steps for the link's one record (``sync.sync_batch``)."""
    [outcome] = await sync.sync_batch(
        sessions, settings, link, [item], receipt, origin=origin, started=(), submitted=submitted
    )
    return outcome
