"""The recorder's local spool: leg directories being written, uploaded to the object store
while the call goes on, and uploaded by the next recorder on this host if this one died.

Layout: ``DATA_DIR/spool/recorder/<worker>/session-<id>/participant-<id>/<leg>/``, with
``<worker>.lock`` held (``flock``) for the worker's lifetime: a spool whose lock can be
taken belongs to a worker that is gone. Object keys mirror it below ``recordings/``:
``recordings/<session>/participant-<id>/<leg>/segment-00001.webm`` and its
``manifest.json``.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from recorder.manifest import FILE_NAME as MANIFEST
from recorder.session import read_manifest
from storage.base import ObjectStore

log = logging.getLogger(__name__)

CONTENT_TYPES = {".webm": "video/webm", ".mkv": "video/x-matroska", ".json": "application/json"}
SESSION_DIR = re.compile(r"^session-(\d+)$")


def recordings_prefix(session_id: int) -> str:
    return f"recordings/{session_id}/"


def leg_key(session_id: int, leg: Path, name: str) -> str:
    """``recordings/<session>/participant-<id>/<leg>/<name>`` for a leg directory."""
    return f"{recordings_prefix(session_id)}{leg.parent.name}/{leg.name}/{name}"


@dataclass
class LegUploads:
    """What of one leg is already in the store: complete segments go up once, the
    manifest whenever it changed."""

    session_id: int
    directory: Path
    done: set[str] = field(default_factory=set)
    manifest_stamp: float = -1.0

    async def push(self, store: ObjectStore, *, final: bool) -> None:
        """Upload what is new; ``final`` (the leg ended, or its writer died) also uploads
        segments that never completed: they play up to about a second before the end."""
        found = await asyncio.to_thread(self._due, final)
        if found is None:
            return
        due, stamp = found
        for file, complete in due:
            path = self.directory / file
            await store.put_file(
                leg_key(self.session_id, self.directory, file),
                path,
                CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
            )
            if complete:
                self.done.add(file)
        if stamp != self.manifest_stamp or final:
            await store.put_file(
                leg_key(self.session_id, self.directory, MANIFEST),
                self.directory / MANIFEST,
                CONTENT_TYPES[".json"],
            )
            self.manifest_stamp = stamp

    def _due(self, final: bool) -> tuple[list[tuple[str, bool]], float] | None:
        """(The file system, in a thread.) The segments to upload now, as (file, complete),
        and the manifest's mtime; None before the leg wrote a manifest."""
        manifest = read_manifest(self.directory)
        if manifest is None:
            return None
        due = [
            (segment.file, segment.complete)
            for segment in manifest.segments
            if segment.file not in self.done
            and (segment.complete or final)
            and (self.directory / segment.file).exists()
        ]
        return due, (self.directory / MANIFEST).stat().st_mtime


class Spool:
    """This worker's spool directory, locked while it lives."""

    def __init__(self, data_dir: Path, worker: str) -> None:
        self.root = data_dir / "spool" / "recorder"
        self.worker = worker
        self.directory = self.root / safe_name(worker)
        self._lock_fd: int | None = None

    def open(self) -> None:
        # Locked before the directory exists: other workers scan for unlocked directories.
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / f"{self.directory.name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # The worker's name, for whoever finds the spool orphaned: its leases are to be freed.
        os.ftruncate(fd, 0)
        os.write(fd, self.worker.encode())
        self._lock_fd = fd
        self.directory.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
            (self.root / f"{self.directory.name}.lock").unlink(missing_ok=True)

    def session_dir(self, session_id: int) -> Path:
        return self.directory / f"session-{session_id}"

    def orphans(self) -> list[Orphan]:
        """Spools of workers on this host that are gone (killed, or stopped): the lock
        their process held is free. The caller uploads them, then ``release_orphan``s."""
        found: list[Orphan] = []
        if not self.root.exists():
            return found
        for entry in sorted(self.root.iterdir()):
            if not entry.is_dir() or entry == self.directory:
                continue
            fd = os.open(self.root / f"{entry.name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)  # its worker is alive (or another worker is uploading it)
                continue
            worker = os.pread(fd, 200, 0).decode(errors="replace") or None
            found.append(Orphan(entry, fd, worker))
        return found

    def orphan_names(self) -> set[str]:
        """The spool directories of workers on this host that are gone and not yet taken
        care of (a few lock attempts: cheap enough to ask several times a second)."""
        names = set()
        for orphan in self.orphans():
            os.close(orphan.fd)  # found, not taken: ``orphans`` takes it again
            names.add(orphan.directory.name)
        return names

    def release_orphan(self, orphan: Orphan) -> None:
        shutil.rmtree(orphan.directory, ignore_errors=True)
        (self.root / f"{orphan.directory.name}.lock").unlink(missing_ok=True)
        os.close(orphan.fd)


@dataclass(frozen=True)
class Orphan:
    """A dead worker's spool, locked by the worker that found it."""

    directory: Path
    fd: int
    worker: str | None  # its name (None: a spool older than names in lock files)


def safe_name(worker: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", worker)[:100]


def legs_of(session_dir: Path) -> list[Path]:
    """Every leg directory below a session directory, oldest first per participant."""
    return sorted(
        (leg for participant in session_dir.glob("participant-*") for leg in participant.iterdir()),
        key=lambda leg: (leg.parent.name, leg.name),
    )


async def upload_orphan(spool: Spool, orphan: Orphan, store: ObjectStore) -> bool:
    """Upload the legs a dead worker left (``final``: its last, incomplete segments too),
    then remove its spool. False when that failed: the spool stays for the next try."""
    count = 0
    try:
        sessions = await asyncio.to_thread(_session_dirs, orphan.directory)
        for session_id, session_dir in sessions:
            for leg in await asyncio.to_thread(legs_of, session_dir):
                await LegUploads(session_id, leg).push(store, final=True)
                count += 1
    except Exception:
        os.close(orphan.fd)
        log.exception("uploading the spool %s failed; kept for the next try", orphan.directory)
        return False
    await asyncio.to_thread(spool.release_orphan, orphan)
    log.info("uploaded %d leg(s) a stopped recorder left in %s", count, orphan.directory)
    return True


def _session_dirs(directory: Path) -> list[tuple[int, Path]]:
    if not directory.exists():  # removed by a worker that uploaded it just before
        return []
    found = []
    for session_dir in sorted(directory.iterdir()):
        match = SESSION_DIR.match(session_dir.name)
        if match is not None:
            found.append((int(match.group(1)), session_dir))
    return found
