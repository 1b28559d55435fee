"""The object store interface. Implementations: ``local.LocalObjectStore`` (default) and
``s3.S3ObjectStore`` (MinIO/S3 through the minio SDK). Keys are ``/``-separated relative
paths such as ``recordings/42/part-0001.webm``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    content_type: str
    modified: datetime


@runtime_checkable
class ObjectStore(Protocol):
    async def put_bytes(self, key: str, data: bytes, content_type: str) -> ObjectInfo:
        """Store ``data`` atomically under ``key`` (replacing any object there)."""

    async def put_file(self, key: str, path: Path, content_type: str) -> ObjectInfo:
        """Store a local file; large files go up in parts."""

    async def get_bytes(self, key: str) -> bytes: ...

    async def download(self, key: str, path: Path) -> None:
        """Write the object to a local file."""

    async def stat(self, key: str) -> ObjectInfo: ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Remove the object; removing a missing object is not an error."""

    async def list(self, prefix: str) -> list[ObjectInfo]:
        """Objects whose key starts with ``prefix``, sorted by key."""

    async def presign_get(
        self, key: str, expires: timedelta, *, filename: str | None = None
    ) -> str:
        """A URL anyone holding it may GET until ``expires`` passes (Range requests work)."""

    async def presign_put(self, key: str, expires: timedelta, content_type: str) -> str:
        """A URL that accepts one PUT of the object body until ``expires`` passes."""

    async def check(self) -> None:
        """Raise ``StorageError`` when the store cannot be used (for /readyz)."""

    async def close(self) -> None: ...


# What a store keeps about a resumable upload between requests: JSON-serialisable, held by
# the caller (the uploads table), so any node can take the next chunk.
UploadState = dict[str, Any]


@dataclass(frozen=True)
class Scan:
    """One pass over a stored object: its SHA-256, size and first bytes."""

    sha256: str
    size: int
    head: bytes


@runtime_checkable
class ResumableStore(Protocol):
    """Objects assembled from chunks sent over several requests (the tus uploads). The caller
    keeps the offset: ``append_upload`` at ``offset`` drops whatever a crashed earlier append
    left past it, so a chunk re-sent after a failure is stored once."""

    async def begin_upload(self, key: str, content_type: str) -> UploadState: ...

    async def append_upload(
        self, key: str, state: UploadState, offset: int, data: bytes
    ) -> UploadState: ...

    async def complete_upload(
        self, key: str, state: UploadState, content_type: str
    ) -> ObjectInfo: ...

    async def abort_upload(self, key: str, state: UploadState) -> None: ...

    async def scan(self, key: str, head: int = 64) -> Scan:
        """Hash the object in one streamed pass (never all of it in memory)."""
