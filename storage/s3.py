"""``S3ObjectStore``: objects in one bucket of an S3-compatible server (MinIO, SeaweedFS, AWS)
through the ``minio`` SDK. The SDK blocks, so every call runs in a worker thread."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import hashlib  # the `list` method shadows the type inside the class
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import certifi
import urllib3
from minio import Minio
from minio.datatypes import Part
from minio.error import MinioException, S3Error

from storage.base import ObjectInfo, Scan, UploadState
from storage.errors import ObjectNotFound, StoreUnavailable
from storage.keys import content_disposition, validate_key, validate_prefix

T = TypeVar("T")

DEFAULT_PART_SIZE = 16 * 1024 * 1024
# S3 refuses multipart parts under 5 MiB, except the last one.
MIN_PART_SIZE = 5 * 1024 * 1024
TAIL_SUFFIX = ".upload-tail"
_NOT_FOUND = frozenset({"NoSuchKey", "NoSuchObject", "ResourceNotFound"})
_BUCKET_EXISTS = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})


class S3ObjectStore:
    """Objects in ``bucket`` at ``endpoint`` (``http(s)://host:port``)."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        region: str = "us-east-1",
        *,
        part_size: int = DEFAULT_PART_SIZE,
        timeout: float = 30.0,
        public_endpoint: str | None = None,
    ) -> None:
        """``public_endpoint``: where browsers reach the server, when it differs from where
        the app does (``http://minio:9000`` inside a compose network); presigned URLs carry
        it, and their signature covers that host."""
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"S3 endpoint must be an http:// or https:// URL, got {endpoint!r}")
        public = urlsplit(public_endpoint or endpoint)
        if public.scheme not in ("http", "https") or not public.netloc:
            raise ValueError(f"S3 public endpoint must be an http(s) URL, got {public_endpoint!r}")
        self.bucket = bucket
        self.endpoint = endpoint
        self._part_size = part_size
        # Few quick retries instead of the SDK's five with backoff, so a dead server shows up
        # in /readyz within seconds.
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout),
            maxsize=10,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            retries=urllib3.Retry(
                total=2, backoff_factor=0.1, status_forcelist=(500, 502, 503, 504)
            ),
        )
        self._client = Minio(
            parts.netloc,
            access_key=access_key,
            secret_key=secret_key,
            secure=parts.scheme == "https",
            region=region,  # known region: presigning needs no request
            http_client=self._http,
        )
        # Presigning is local computation: this client never sends a request.
        self._signer = Minio(
            public.netloc,
            access_key=access_key,
            secret_key=secret_key,
            secure=public.scheme == "https",
            region=region,
            http_client=self._http,
        )

    def __repr__(self) -> str:
        return f"S3ObjectStore({self.endpoint!r}, bucket={self.bucket!r})"

    # -- ObjectStore ------------------------------------------------------------------------

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> ObjectInfo:
        validate_key(key)
        await self._call(
            key,
            self._client.put_object,
            self.bucket,
            key,
            io.BytesIO(data),
            len(data),
            content_type=content_type,
        )
        return await self.stat(key)

    async def put_file(self, key: str, path: Path, content_type: str) -> ObjectInfo:
        validate_key(key)
        await self._call(
            key,
            self._client.fput_object,
            self.bucket,
            key,
            str(path),
            content_type=content_type,
            part_size=self._part_size,
        )
        return await self.stat(key)

    async def get_bytes(self, key: str) -> bytes:
        validate_key(key)
        return await self._call(key, self._read, key)

    async def download(self, key: str, path: Path) -> None:
        validate_key(key)
        await self._call(key, self._client.fget_object, self.bucket, key, str(path))

    async def stat(self, key: str) -> ObjectInfo:
        validate_key(key)
        result = await self._call(key, self._client.stat_object, self.bucket, key)
        return ObjectInfo(
            key=key,
            size=result.size or 0,
            content_type=result.content_type or "application/octet-stream",
            modified=result.last_modified or datetime.now(UTC),
        )

    async def exists(self, key: str) -> bool:
        try:
            await self.stat(key)
        except ObjectNotFound:
            return False
        return True

    async def delete(self, key: str) -> None:
        validate_key(key)
        await self._call(key, self._client.remove_object, self.bucket, key)

    async def list(self, prefix: str) -> list[ObjectInfo]:
        validate_prefix(prefix)
        names = await self._call(prefix, self._list_names, prefix)
        # A listing has no content types: ask for each object, a few at a time (the
        # connection pool holds ten).
        limit = asyncio.Semaphore(8)
        found = await asyncio.gather(*(self._stat_or_none(name, limit) for name in names))
        return sorted((info for info in found if info is not None), key=lambda i: i.key)

    async def presign_get(
        self, key: str, expires: timedelta, *, filename: str | None = None
    ) -> str:
        validate_key(key)
        headers = (
            {"response-content-disposition": content_disposition(filename)} if filename else None
        )
        return await self._presign("GET", key, expires, headers)

    async def presign_put(self, key: str, expires: timedelta, content_type: str) -> str:
        """S3 presigned PUTs do not bind the content type: the uploader's ``Content-Type``
        header is stored as sent."""
        validate_key(key)
        return await self._presign("PUT", key, expires, None)

    # -- resumable uploads: S3 multipart underneath ----------------------------------------
    # Chunks under the 5 MiB part minimum wait in a tail object next to the key until enough
    # bytes arrived to make a part; the part number follows from the recorded state, so a
    # chunk re-sent after a failure overwrites the same part (or tail) instead of adding one.

    async def begin_upload(self, key: str, content_type: str) -> UploadState:
        validate_key(key)
        upload_id = await self._call(
            key,
            self._client._create_multipart_upload,
            self.bucket,
            key,
            {"Content-Type": content_type or "application/octet-stream"},
        )
        return {"upload_id": upload_id, "parts": [], "tail": 0}

    async def append_upload(
        self, key: str, state: UploadState, offset: int, data: bytes
    ) -> UploadState:
        validate_key(key)
        parts: builtins.list[builtins.list[int | str]] = [list(p) for p in state["parts"]]
        tail_size = int(state["tail"])
        if offset != sum(int(p[2]) for p in parts) + tail_size:
            raise StoreUnavailable(f"upload {key} is not at offset {offset}")
        buffer = (await self.get_bytes(key + TAIL_SUFFIX)) + data if tail_size else data
        if len(buffer) < MIN_PART_SIZE:
            await self.put_bytes(key + TAIL_SUFFIX, buffer, "application/octet-stream")
            return {**state, "parts": parts, "tail": len(buffer)}
        number = len(parts) + 1
        etag = await self._call(
            key,
            self._client._upload_part,
            self.bucket,
            key,
            buffer,
            None,
            state["upload_id"],
            number,
        )
        parts.append([number, etag, len(buffer)])
        if tail_size:
            await self.delete(key + TAIL_SUFFIX)
        return {**state, "parts": parts, "tail": 0}

    async def complete_upload(self, key: str, state: UploadState, content_type: str) -> ObjectInfo:
        validate_key(key)
        parts = [list(p) for p in state["parts"]]
        if state["tail"]:
            tail = await self.get_bytes(key + TAIL_SUFFIX)
            number = len(parts) + 1
            etag = await self._call(
                key,
                self._client._upload_part,
                self.bucket,
                key,
                tail,
                None,
                state["upload_id"],
                number,
            )
            parts.append([number, etag, len(tail)])
        if not parts:  # an empty file: S3 has no multipart upload of zero parts
            await self.abort_upload(key, state)
            return await self.put_bytes(key, b"", content_type)
        await self._call(
            key,
            self._client._complete_multipart_upload,
            self.bucket,
            key,
            state["upload_id"],
            [Part(int(n), str(etag)) for n, etag, _size in parts],
        )
        if state["tail"]:
            await self.delete(key + TAIL_SUFFIX)
        return await self.stat(key)

    async def abort_upload(self, key: str, state: UploadState) -> None:
        validate_key(key)
        with contextlib.suppress(ObjectNotFound, StoreUnavailable):  # completed or aborted
            await self._call(
                key,
                self._client._abort_multipart_upload,
                self.bucket,
                key,
                state["upload_id"],
            )
        await self.delete(key + TAIL_SUFFIX)

    async def scan(self, key: str, head: int = 64) -> Scan:
        validate_key(key)
        return await self._call(key, self._scan, key, head)

    async def check(self) -> None:
        if not await self._call(self.bucket, self._client.bucket_exists, self.bucket):
            raise StoreUnavailable(f"bucket {self.bucket} does not exist")

    async def ensure_bucket(self) -> None:
        """Create the bucket when it does not exist yet."""
        if await self._call(self.bucket, self._client.bucket_exists, self.bucket):
            return
        try:
            await self._call(self.bucket, self._client.make_bucket, self.bucket)
        except StoreUnavailable as exc:
            if not isinstance(exc.__cause__, S3Error) or exc.__cause__.code not in _BUCKET_EXISTS:
                raise

    async def close(self) -> None:
        await asyncio.to_thread(self._http.clear)

    # -- worker-thread side ----------------------------------------------------------------

    async def _call(self, key: str, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        """Run one SDK call in a thread; map its errors onto ``StorageError``s."""
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except S3Error as exc:
            if exc.code in _NOT_FOUND:
                raise ObjectNotFound(key) from None
            if exc.code == "NoSuchBucket":
                raise StoreUnavailable(f"bucket {self.bucket} does not exist") from exc
            raise StoreUnavailable(f"{exc.code}: {exc.message}") from exc
        except (MinioException, urllib3.exceptions.HTTPError) as exc:
            raise StoreUnavailable(f"{self.endpoint}: {exc}") from exc

    def _read(self, key: str) -> bytes:
        response = self._client.get_object(self.bucket, key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def _scan(self, key: str, head: int) -> Scan:
        digest = hashlib.sha256()
        size = 0
        first = b""
        response = self._client.get_object(self.bucket, key)
        try:
            for block in response.stream(1024 * 1024):
                if len(first) < head:
                    first += block[: head - len(first)]
                digest.update(block)
                size += len(block)
        finally:
            response.close()
            response.release_conn()
        return Scan(sha256=digest.hexdigest(), size=size, head=first)

    def _list_names(self, prefix: str) -> builtins.list[str]:
        objects = self._client.list_objects(self.bucket, prefix=prefix, recursive=True)
        return [obj.object_name for obj in objects if obj.object_name and not obj.is_dir]

    async def _stat_or_none(self, key: str, limit: asyncio.Semaphore) -> ObjectInfo | None:
        try:
            async with limit:
                return await self.stat(key)
        except ObjectNotFound:  # deleted since the listing
            return None

    async def _presign(
        self, method: str, key: str, expires: timedelta, headers: dict[str, str] | None
    ) -> str:
        seconds = int(expires.total_seconds())
        signed_at = None
        if seconds < 1:
            # S3 cannot sign for under a second; sign earlier instead, so the URL is already
            # past its deadline, as asked.
            signed_at = datetime.now(UTC) + timedelta(seconds=seconds - 1)
            seconds = 1
        return await self._call(
            key,
            self._signer.get_presigned_url,
            method,
            self.bucket,
            key,
            expires=timedelta(seconds=seconds),
            response_headers=headers,
            request_date=signed_at,
        )
