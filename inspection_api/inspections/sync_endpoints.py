"""The offline sync over REST: one batch of inspections made on a phone without network."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.auth.endpoints import origin_of
from inspection_api.db import utcnow
from inspection_api.errors import InspectionError
from inspection_api.inspections import sync, sync_records
from inspection_api.inspections.endpoints import hooks, to_fix
from inspection_api.inspections.sync_schemas import (
    CaptureSyncOut,
    InspectionSyncOut,
    OfflineInspectionIn,
    ProblemOut,
    SyncIn,
    SyncOut,
)
from inspection_api.notifications import outbox
from inspection_api.web.keys import (
    INSPECTION_STARTED,
    INSPECTION_SUBMITTED,
    SESSIONMAKER,
    SETTINGS,
)
from inspection_api.web.problems import request_lang
from inspection_api.web.routing import ApiRoutes, Ctx

api = ApiRoutes(tag="inspections")


def offline_item(body: OfflineInspectionIn, device_id: str) -> sync_records.OfflineInspection:
    scan_fix = to_fix(body.scan_fix)
    assert scan_fix is not None
    captures = []
    for capture in body.evidence:
        fix = to_fix(capture.fix)
        assert fix is not None
        captures.append(
            sync_records.OfflineCapture(
                client_uuid=str(capture.client_uuid),
                item_key=capture.item_key,
                kind=capture.kind,
                upload_id=capture.upload_id,
                sha256=capture.sha256.lower(),
                captured_at=capture.captured_at,
                fix=fix,
            )
        )
    return sync_records.OfflineInspection(
        client_uuid=str(body.client_uuid),
        qr=body.qr or "",  # a self-check's record may have no scanned label
        scan_fix=scan_fix,
        started_at=body.started_at,
        template_id=body.template_id,
        checklist_version_id=body.checklist_version_id,
        answers=body.answers,
        flags=[flag.model_dump() for flag in body.flags],
        evidence=captures,
        submit_fix=to_fix(body.submit.fix) if body.submit else None,
        submitted_at=body.submit.submitted_at if body.submit else None,
        device_id=device_id,
    )


def sync_sessions(ctx: Ctx) -> sync.Sessions:
    """The sync commits in sessions of its own (one per batch, retried on a race): what they
    push (the anomalies' 异常处理人, 实时监管) is handed to the route's session, which sends it
    after its commit, as an online submit does."""
    sessions = ctx.app[SESSIONMAKER]

    @contextlib.asynccontextmanager
    async def session() -> AsyncIterator[AsyncSession]:
        async with sessions() as own:
            try:
                yield own
            finally:
                outbox.forward(own, ctx.session)

    return session


def _problem(exc: InspectionError | None, lang: str) -> ProblemOut | None:
    if exc is None:
        return None
    return ProblemOut(
        status=exc.status, code=exc.code, detail=exc.message(lang), extra=exc.extra(lang)
    )


@api.route(
    "POST",
    "/api/v1/offline/sync",
    summary="离线检查同步 Sync inspections made offline",
    body=SyncIn,
    response=SyncOut,
)
async def sync_offline(ctx: Ctx, *, body: SyncIn) -> SyncOut:
    """Idempotent by the phone's UUIDs: the same batch twice (or at once) stores each
    inspection and each capture once. Each inspection's outcome says `submitted`, `saved`
    (a capture is `waiting` for its upload, or refused) or `refused`, with the problem as
    the online call would have answered it (e.g. `location_out_of_range`, `qr_retired`)."""
    received_at = utcnow()
    receipt = sync_records.Receipt(sent_at=body.sent_at, received_at=received_at)
    lang = request_lang(ctx.request)
    outcomes = await sync.sync_batch(
        sync_sessions(ctx),
        ctx.app[SETTINGS],
        ctx.user,
        [offline_item(entry, body.device_id) for entry in body.inspections],
        receipt,
        origin=origin_of(ctx),
        started=hooks(ctx, INSPECTION_STARTED),
        submitted=hooks(ctx, INSPECTION_SUBMITTED),
    )
    return sync_out(receipt, outcomes, lang)


def sync_out(
    receipt: sync_records.Receipt, outcomes: list[sync_records.SyncOutcome], lang: str
) -> SyncOut:
    """The answer of a sync (staff's, or a self-check link's)."""
    results = []
    for outcome in outcomes:
        results.append(
            InspectionSyncOut(
                client_uuid=outcome.client_uuid,
                status=outcome.status,
                inspection_id=outcome.inspection_id,
                evidence=[
                    CaptureSyncOut(
                        client_uuid=c.client_uuid,
                        status=c.status,
                        evidence_id=c.evidence_id,
                        problem=_problem(c.problem, lang),
                    )
                    for c in outcome.evidence
                ],
                problem=_problem(outcome.problem, lang),
            )
        )
    return SyncOut(
        received_at=receipt.received_at,
        clock_offset_seconds=receipt.offset_seconds,
        clock_flagged=abs(receipt.offset_seconds) > sync_records.CLOCK_TOLERANCE.total_seconds(),
        results=results,
    )
