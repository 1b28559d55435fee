"""Assembling a recorded call: every participant's legs, fetched from the object store, made
into one playable file each (``recorder.finalize``, stream copy) with a poster, stored
next to the segments under ``recordings/<session>/final/``.

Works from the store alone, so any worker can assemble a call that another recorded.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections import defaultdict
from pathlib import Path

from inspection_api.recordings.service import FinishedFile
from loancheck.spool import recordings_prefix
from recorder import FinalizeWarning, finalize_participant
from storage.base import ObjectStore

LEG_OBJECT = re.compile(r"^participant-(\d+)/(leg-[A-Za-z0-9_-]+)/([A-Za-z0-9._-]+)$")


def warning_text(warning: FinalizeWarning) -> str:
    where = warning.file if warning.leg is None else f"{warning.file} (leg {warning.leg})"
    return f"{where}: {warning.detail}"


def final_key(session_id: int, participant: int, suffix: str) -> str:
    return f"{recordings_prefix(session_id)}final/participant-{participant}{suffix}"


async def assemble(store: ObjectStore, session_id: int, workdir: Path) -> list[FinishedFile]:
    prefix = recordings_prefix(session_id)
    legs: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for info in await store.list(prefix):
        match = LEG_OBJECT.match(info.key[len(prefix) :])
        if match is not None:
            legs[int(match.group(1))][match.group(2)].append(info.key)
    files: list[FinishedFile] = []
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=workdir, prefix=f"assemble-{session_id}-") as temporary:
        root = Path(temporary)
        for participant, by_leg in sorted(legs.items()):
            leg_dirs = []
            for leg, keys in sorted(by_leg.items()):
                directory = root / f"participant-{participant}" / leg
                await asyncio.to_thread(directory.mkdir, parents=True)
                for key in keys:
                    await store.download(key, directory / key.rsplit("/", 1)[1])
                leg_dirs.append(directory)
            output = root / "final"
            result = await asyncio.to_thread(
                finalize_participant, leg_dirs, output, participant=str(participant)
            )
            key = final_key(session_id, participant, result.path.suffix)
            await store.put_file(key, result.path, result.media_type)
            poster_key = None
            if result.poster is not None:
                poster_key = final_key(session_id, participant, ".jpg")
                await store.put_file(poster_key, result.poster, "image/jpeg")
            files.append(
                FinishedFile(
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
            )
    return files
