"""``LocalObjectStore``: objects as files under one directory, handed out as signed URLs that
``storage.web`` serves. The zero-setup default; every file operation runs in a worker thread."""

from __future__ import annotations

import asyncio
import builtins  # the `list` method shadows the type inside the class
import hashlib
import hmac
import json
import os
import shutil
import stat as stat_module
import tempfile
import time
from collections.abc import AsyncIterable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, urlencode

from storage.base import ObjectInfo, Scan, UploadState
from storage.errors import (
    InvalidKey,
    ObjectNotFound,
    ObjectTooLarge,
    SignatureExpired,
    SignatureInvalid,
    StoreUnavailable,
)
from storage.keys import key_path, validate_key, validate_prefix

# "~" never appears in a key, so helper files (content-type sidecars, uploads in progress)
# can neither collide with an object nor show up in list().
HELPER_MARK = "~"
META_SUFFIX = HELPER_MARK + "meta.json"
UPLOAD_SUFFIX = HELPER_MARK + "upload"  # a resumable upload being appended to
DEFAULT_CONTENT_TYPE = "application/octet-stream"
DEFAULT_MAX_PUT_BYTES = 2 * 1024**3
_WRITE_BUFFER = 1024 * 1024
_MISSING = (FileNotFoundError, NotADirectoryError, IsADirectoryError)


def media_type(content_type: str) -> str:
    """``video/webm`` from ``Video/WebM; codecs=vp8``: what a PUT signature binds."""
    return content_type.split(";", 1)[0].strip().lower()


class LocalObjectStore:
    """Objects under ``root``; ``base_url`` is where ``storage.web`` serves ``/objects/``."""

    def __init__(
        self,
        root: Path,
        base_url: str,
        secret: bytes,
        max_put_bytes: int = DEFAULT_MAX_PUT_BYTES,
    ) -> None:
        if not secret:
            raise ValueError("LocalObjectStore needs a non-empty secret to sign URLs")
        self._root = Path(os.path.abspath(root))
        self.base_url = base_url.rstrip("/")
        self._secret = secret
        self.max_put_bytes = max_put_bytes

    def __repr__(self) -> str:
        return f"LocalObjectStore({str(self._root)!r}, {self.base_url!r})"

    # -- ObjectStore ------------------------------------------------------------------------

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> ObjectInfo:
        validate_key(key)
        return await asyncio.to_thread(self._write, key, content_type, lambda fh: fh.write(data))

    async def put_file(self, key: str, path: Path, content_type: str) -> ObjectInfo:
        validate_key(key)

        def fill(fh: BinaryIO) -> None:
            with open(path, "rb") as src:
                shutil.copyfileobj(src, fh, _WRITE_BUFFER)

        return await asyncio.to_thread(self._write, key, content_type, fill)

    async def put_stream(
        self, key: str, chunks: AsyncIterable[bytes], content_type: str
    ) -> ObjectInfo:
        """Store a streamed body (an HTTP PUT); over ``max_put_bytes`` raises ``ObjectTooLarge``
        and leaves any previous object untouched."""
        validate_key(key)
        target, tmp, fh = await asyncio.to_thread(self._open_temp, key)
        try:
            size = 0
            buffer = bytearray()
            async for chunk in chunks:
                size += len(chunk)
                if size > self.max_put_bytes:
                    raise ObjectTooLarge(self.max_put_bytes)
                buffer += chunk
                if len(buffer) >= _WRITE_BUFFER:
                    await asyncio.to_thread(fh.write, bytes(buffer))
                    buffer.clear()
            await asyncio.to_thread(_finish, fh, bytes(buffer))
            return await asyncio.to_thread(self._commit, key, target, tmp, content_type)
        except BaseException:
            await asyncio.shield(asyncio.to_thread(_discard, fh, tmp))
            raise

    async def get_bytes(self, key: str) -> bytes:
        validate_key(key)
        return await asyncio.to_thread(self._read, key)

    async def download(self, key: str, path: Path) -> None:
        validate_key(key)
        await asyncio.to_thread(self._download, key, path)

    async def stat(self, key: str) -> ObjectInfo:
        validate_key(key)
        return (await asyncio.to_thread(self._locate, key))[1]

    async def exists(self, key: str) -> bool:
        try:
            await self.stat(key)
        except ObjectNotFound:
            return False
        return True

    async def delete(self, key: str) -> None:
        validate_key(key)
        await asyncio.to_thread(self._delete, key)

    async def list(self, prefix: str) -> list[ObjectInfo]:
        validate_prefix(prefix)
        return await asyncio.to_thread(self._list, prefix)

    async def presign_get(
        self, key: str, expires: timedelta, *, filename: str | None = None
    ) -> str:
        validate_key(key)
        deadline = int(time.time() + expires.total_seconds())
        query = {"expires": str(deadline)}
        if filename:
            query["filename"] = filename
        query["sig"] = self.signature("GET", key, deadline, filename or "")
        return self._url(key, query)

    async def presign_put(self, key: str, expires: timedelta, content_type: str) -> str:
        validate_key(key)
        deadline = int(time.time() + expires.total_seconds())
        sig = self.signature("PUT", key, deadline, media_type(content_type))
        return self._url(key, {"expires": str(deadline), "sig": sig})

    async def check(self) -> None:
        await asyncio.to_thread(self._check)

    async def close(self) -> None:
        """Nothing to release: every operation opens and closes its own files."""

    # -- resumable uploads: one helper file appended to, renamed into place when complete ----

    async def begin_upload(self, key: str, content_type: str) -> UploadState:
        validate_key(key)
        await asyncio.to_thread(self._begin_upload, key)
        return {}

    async def append_upload(
        self, key: str, state: UploadState, offset: int, data: bytes
    ) -> UploadState:
        validate_key(key)
        await asyncio.to_thread(self._append_upload, key, offset, data)
        return state

    async def complete_upload(self, key: str, state: UploadState, content_type: str) -> ObjectInfo:
        validate_key(key)

        def commit() -> ObjectInfo:
            target = self._path(key)
            return self._commit(key, target, self._upload_path(key), content_type)

        return await asyncio.to_thread(commit)

    async def abort_upload(self, key: str, state: UploadState) -> None:
        validate_key(key)
        await asyncio.to_thread(lambda: self._upload_path(key).unlink(missing_ok=True))

    async def scan(self, key: str, head: int = 64) -> Scan:
        validate_key(key)
        return await asyncio.to_thread(self._scan, key, head)

    # -- signed URLs (used by storage.web) ----------------------------------------------------

    def signature(self, method: str, key: str, expires: int, extra: str) -> str:
        """Hex HMAC-SHA256 over the request a URL allows. ``extra`` is the download file name
        (GET) or the media type (PUT); it comes last, so its content cannot shift the fields."""
        message = "\n".join((method, key, str(expires), extra)).encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def verify(
        self,
        method: str,
        key: str,
        expires: str,
        sig: str,
        *,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> int:
        """Check a signed request; return its deadline (unix seconds) or raise
        ``SignatureInvalid`` / ``SignatureExpired``."""
        try:
            deadline = int(expires)
        except ValueError:
            raise SignatureInvalid() from None
        if method in ("GET", "HEAD"):
            expected = self.signature("GET", key, deadline, filename or "")
        elif method == "PUT":
            expected = self.signature("PUT", key, deadline, media_type(content_type or ""))
        else:
            raise SignatureInvalid()
        if not hmac.compare_digest(expected, sig):
            raise SignatureInvalid()
        if deadline < time.time():
            raise SignatureExpired()
        return deadline

    async def locate(self, key: str) -> tuple[Path, ObjectInfo]:
        """The file holding ``key`` and its info, for serving it (``ObjectNotFound`` if absent)."""
        validate_key(key)
        return await asyncio.to_thread(self._locate, key)

    # -- worker-thread side ----------------------------------------------------------------

    def _url(self, key: str, query: dict[str, str]) -> str:
        return f"{self.base_url}/objects/{quote(key)}?{urlencode(query, quote_via=quote)}"

    def _resolved_root(self) -> Path:
        return self._root.resolve()

    def _path(self, key: str) -> Path:
        return key_path(self._resolved_root(), key)

    def _open_temp(self, key: str) -> tuple[Path, Path, BinaryIO]:
        target = self._path(key)
        for _ in range(3):
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                raise InvalidKey(key, "a parent path is already an object") from None
            try:
                fd, tmp = tempfile.mkstemp(
                    dir=target.parent, prefix=target.name + HELPER_MARK, suffix=".tmp"
                )
            except FileNotFoundError:  # a concurrent delete pruned the empty directory
                continue
            return target, Path(tmp), os.fdopen(fd, "wb")
        raise StoreUnavailable(f"could not create a file in {target.parent}")

    def _commit(self, key: str, target: Path, tmp: Path, content_type: str) -> ObjectInfo:
        meta = target.with_name(target.name + META_SUFFIX)
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=meta.name, suffix=".tmp")
        meta_tmp = Path(name)
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump({"content_type": content_type}, fh)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.replace(tmp, target)
            except IsADirectoryError:
                raise InvalidKey(key, "other objects are stored under it") from None
            os.replace(meta_tmp, meta)
        finally:
            meta_tmp.unlink(missing_ok=True)
        _fsync_dir(target.parent)
        return self._info(key, target)

    def _write(self, key: str, content_type: str, fill: Callable[[BinaryIO], object]) -> ObjectInfo:
        target, tmp, fh = self._open_temp(key)
        try:
            with fh:
                fill(fh)
                fh.flush()
                os.fsync(fh.fileno())
            return self._commit(key, target, tmp, content_type)
        finally:
            tmp.unlink(missing_ok=True)

    def _info(self, key: str, path: Path) -> ObjectInfo:
        st = os.stat(path)
        if not stat_module.S_ISREG(st.st_mode):
            raise FileNotFoundError(path)
        try:
            meta = json.loads(path.with_name(path.name + META_SUFFIX).read_text())
            content_type = str(meta["content_type"])
        except (OSError, ValueError, KeyError, TypeError):
            content_type = DEFAULT_CONTENT_TYPE
        modified = datetime.fromtimestamp(st.st_mtime, tz=UTC)
        return ObjectInfo(key=key, size=st.st_size, content_type=content_type, modified=modified)

    def _locate(self, key: str) -> tuple[Path, ObjectInfo]:
        path = self._path(key)
        try:
            return path, self._info(key, path)
        except _MISSING:
            raise ObjectNotFound(key) from None

    def _read(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except _MISSING:
            raise ObjectNotFound(key) from None

    def _download(self, key: str, dest: Path) -> None:
        try:
            src = open(self._path(key), "rb")  # noqa: SIM115 - closed below, after the copy
        except _MISSING:
            raise ObjectNotFound(key) from None
        with src:
            fd, name = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + "~", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(src, out, _WRITE_BUFFER)
                os.replace(name, dest)
            finally:
                Path(name).unlink(missing_ok=True)

    def _delete(self, key: str) -> None:
        root = self._resolved_root()
        path = key_path(root, key)
        try:
            path.unlink(missing_ok=True)
        except IsADirectoryError:
            return  # other objects live under it; there is no object named ``key``
        path.with_name(path.name + META_SUFFIX).unlink(missing_ok=True)
        parent = path.parent
        while parent != root:  # S3 has no empty "directories"; keep the tree the same
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def _list(self, prefix: str) -> builtins.list[ObjectInfo]:
        root = self._resolved_root()
        base = prefix.rpartition("/")[0]
        start = key_path(root, base) if base else root
        found: builtins.list[ObjectInfo] = []
        for dirpath, _dirnames, filenames in os.walk(start):
            for name in filenames:
                path = Path(dirpath) / name
                key = path.relative_to(root).as_posix()
                if HELPER_MARK in name or not key.startswith(prefix) or path.is_symlink():
                    continue
                try:
                    found.append(self._info(validate_key(key), path))
                except (InvalidKey, *_MISSING):
                    continue  # a foreign file name, or deleted while listing
        return sorted(found, key=lambda info: info.key)

    def _upload_path(self, key: str) -> Path:
        target = self._path(key)
        return target.with_name(target.name + UPLOAD_SUFFIX)

    def _begin_upload(self, key: str) -> None:
        path = self._upload_path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise InvalidKey(key, "a parent path is already an object") from None
        path.write_bytes(b"")

    def _append_upload(self, key: str, offset: int, data: bytes) -> None:
        path = self._upload_path(key)
        try:
            fh = open(path, "r+b")  # noqa: SIM115 - closed by the with below
        except _MISSING:
            raise ObjectNotFound(key) from None
        with fh:
            size = os.fstat(fh.fileno()).st_size
            if size < offset:  # the caller's offset is ahead of the file: bytes were lost
                raise StoreUnavailable(f"upload {key} holds {size} bytes, expected {offset}")
            # Bytes past the offset are from an append that failed before it was recorded.
            fh.truncate(offset)
            fh.seek(offset)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    def _scan(self, key: str, head: int) -> Scan:
        digest = hashlib.sha256()
        size = 0
        first = b""
        try:
            src = open(self._path(key), "rb")  # noqa: SIM115 - closed by the with below
        except _MISSING:
            raise ObjectNotFound(key) from None
        with src:
            while block := src.read(_WRITE_BUFFER):
                if len(first) < head:
                    first += block[: head - len(first)]
                digest.update(block)
                size += len(block)
        return Scan(sha256=digest.hexdigest(), size=size, head=first)

    def _check(self) -> None:
        root = self._root
        if not (root.is_dir() and os.access(root, os.W_OK | os.X_OK)):
            raise StoreUnavailable(f"{root} is not a writable directory")


def _finish(fh: BinaryIO, tail: bytes) -> None:
    with fh:
        fh.write(tail)
        fh.flush()
        os.fsync(fh.fileno())


def _discard(fh: BinaryIO, tmp: Path) -> None:
    fh.close()
    tmp.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    # Makes the rename durable; some filesystems refuse fsync on a directory, which is fine.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
