"""Assembling a recorded call: every participant's legs, fetched from the object store, made
into one playable file each (``recorder.finalize``, stream copy) with a poster, stored
next to the segments under ``recordings/<session>/final/``.

Works from the store alone, so any worker can assemble a call that another recorded. Each
participant is finalized on its own: one whose media never arrived, whose offers were all
refused, or whose segments are unplayable is named as missing, and the others' files are
made all the same.
"""

from __future__ import annotations

import asyncio
import logging
import re
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from inspection_api.recordings.models import MissingReason
from inspection_api.recordings.service import FinishedFile, MissingFile
from loancheck.spool import recordings_prefix
from recorder import FinalizeError, FinalizeWarning, finalize_participant
from storage.base import ObjectStore

log = logging.getLogger(__name__)

LEG_OBJECT = re.compile(r"^participant-(\d+)/(leg-[A-Za-z0-9_-]+)/([A-Za-z0-9._-]+)$")
REFUSED = "offer-refused.txt"
REFUSED_OBJECT = re.compile(rf"^participant-(\d+)/{re.escape(REFUSED)}$")


def warning_text(warning: FinalizeWarning) -> str:
    where = warning.file if warning.leg is None else f"{warning.file} (leg {warning.leg})"
    return f"{where}: {warning.detail}"


def final_key(session_id: int, participant: int, suffix: str) -> str:
    return f"{recordings_prefix(session_id)}final/participant-{participant}{suffix}"


def refusal_key(session_id: int, participant: int) -> str:
    """Where the recorder notes that it refused a participant's offer (the last reason)."""
    return f"{recordings_prefix(session_id)}participant-{participant}/{REFUSED}"


async def assemble(
    store: ObjectStore, session_id: int, workdir: Path, participants: Sequence[int] = ()
) -> tuple[list[FinishedFile], list[MissingFile]]:
    """One file per participant who has legs in the store; ``participants`` (the call's
    people) who have none, or whose segments make no file, are returned as missing with
    the reason. One participant's failure never costs the others their files."""
    prefix = recordings_prefix(session_id)
    legs: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    media: set[int] = set()  # participants with at least one segment in the store
    refused: set[int] = set()
    for info in await store.list(prefix):
        name = info.key[len(prefix) :]
        match = LEG_OBJECT.match(name)
        if match is not None:
            legs[int(match.group(1))][match.group(2)].append(info.key)
            if match.group(3).startswith("segment-"):
                media.add(int(match.group(1)))
        elif (found := REFUSED_OBJECT.match(name)) is not None:
            refused.add(int(found.group(1)))
    files: list[FinishedFile] = []
    missing: list[MissingFile] = []
    for participant in sorted(set(participants) | set(legs)):
        if participant not in media:
            if participant in refused:
                detail = (await store.get_bytes(refusal_key(session_id, participant))).decode()
                missing.append(MissingFile(participant, MissingReason.OFFER_REFUSED, detail))
            else:
                detail = "no segment of this participant reached the recorder"
                missing.append(MissingFile(participant, MissingReason.NO_MEDIA, detail))
            continue
        try:
            file = await _finalize(store, session_id, workdir, participant, legs[participant])
            files.append(file)
        except FinalizeError as exc:
            log.warning("call %d: participant %d has no file: %s", session_id, participant, exc)
            missing.append(MissingFile(participant, MissingReason.UNPLAYABLE, exc.reason))
    return files, missing


async def _finalize(
    store: ObjectStore,
    session_id: int,
    workdir: Path,
    participant: int,
    by_leg: dict[str, list[str]],
) -> FinishedFile:
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(
        dir=workdir, prefix=f"assemble-{session_id}-{participant}-"
    ) as temporary:
        root = Path(temporary)
        leg_dirs = []
        for leg, keys in sorted(by_leg.items()):
            directory = root / leg
            await asyncio.to_thread(directory.mkdir, parents=True)
            for key in keys:
                await store.download(key, directory / key.rsplit("/", 1)[1])
            leg_dirs.append(directory)
        result = await asyncio.to_thread(
            finalize_participant, leg_dirs, root / "final", participant=str(participant)
        )
        key = final_key(session_id, participant, result.path.suffix)
        await store.put_file(key, result.path, result.media_type)
        poster_key = None
        if result.poster is not None:
            poster_key = final_key(session_id, participant, ".jpg")
            await store.put_file(poster_key, result.poster, "image/jpeg")
        return FinishedFile(
            participant_id=participant,
            key=key,
            content_type=result.media_type,
            poster_key=poster_key,
            duration=result.duration,
            codecs=",".join(result.codecs),
            width=result.width,
            height=result.height,
            size=result.size,
            sha256=result.sha256,
            segments=result.segments_used,
            legs=len(leg_dirs),
            warnings=[warning_text(w) for w in result.warnings],
        )
