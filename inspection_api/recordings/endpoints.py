"""Replay (回放) of recorded calls: the session's recording and signed URLs of its files."""

from __future__ import annotations

from datetime import timedelta

from inspection_api.db import utcnow
from inspection_api.recordings import service
from inspection_api.recordings.models import MissingReason
from inspection_api.recordings.schemas import (
    MissingRecordingOut,
    RecordingFileOut,
    RecordingOut,
)
from inspection_api.remote.models import ParticipantKind
from inspection_api.web.keys import STORE
from inspection_api.web.routing import ApiRoutes, Ctx

api = ApiRoutes(tag="recordings")

URL_LIFETIME = timedelta(minutes=15)  # long enough to start playing; seeking renews nothing


@api.route(
    "GET",
    "/api/v1/remote-sessions/{session_id}/recording",
    summary="通话录像 The recording of a remote inspection",
    response=RecordingOut,
)
async def get_recording(ctx: Ctx, *, session_id: int) -> RecordingOut:
    """One file per participant once ready, each behind a signed URL that expires in 15
    minutes (fetch this again for fresh ones). Reviewers and inspectors in jurisdiction."""
    replay = await service.for_replay(ctx.session, ctx.user, session_id)
    store = ctx.app[STORE]
    recording = replay.recording
    files = []
    for file in recording.files if recording else []:
        person = replay.participants.get(file.participant_id)
        title = (person.display_name if person else str(file.participant_id)).replace("/", "_")
        extension = file.key.rsplit(".", 1)[-1]
        files.append(
            RecordingFileOut(
                participant_id=file.participant_id,
                display_name=person.display_name if person else "",
                kind=person.kind if person else ParticipantKind.CONTACT,
                url=await store.presign_get(file.key, URL_LIFETIME),
                download_url=await store.presign_get(
                    file.key, URL_LIFETIME, filename=f"远程巡检{session_id}-{title}.{extension}"
                ),
                poster_url=(
                    await store.presign_get(file.poster_key, URL_LIFETIME)
                    if file.poster_key
                    else None
                ),
                content_type=file.content_type,
                duration=file.duration,
                codecs=file.codecs,
                width=file.width,
                height=file.height,
                size=file.size,
                sha256=file.sha256,
                segments=file.segments,
                legs=file.legs,
                warnings=file.warnings,
            )
        )
    missing = []
    for entry in recording.missing if recording else []:
        person = replay.participants.get(entry["participant_id"])
        missing.append(
            MissingRecordingOut(
                participant_id=entry["participant_id"],
                display_name=person.display_name if person else "",
                kind=person.kind if person else ParticipantKind.CONTACT,
                reason=MissingReason(entry["reason"]),
                detail=entry.get("detail", ""),
            )
        )
    return RecordingOut(
        session_id=session_id,
        state=recording.state if recording else None,
        started_at=recording.started_at if recording else None,
        finalized_at=recording.finalized_at if recording else None,
        error=recording.error if recording else None,
        takeovers=recording.takeovers if recording else 0,
        url_expires_at=utcnow() + URL_LIFETIME,
        files=files,
        missing=missing,
    )
