"""Object names: the key rules both stores enforce, and the download file name header."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from storage.errors import InvalidKey

MAX_KEY_LENGTH = 512
# A segment becomes a file name in the local store, next to ``~``-suffixed helper files, so it
# must stay well below the 255-byte file-name limit of common filesystems.
MAX_SEGMENT_LENGTH = 200
_SEGMENT = re.compile(r"[A-Za-z0-9._\-]+")
_FALLBACK_UNSAFE = re.compile(r"[^A-Za-z0-9._\- ()]")


def validate_key(key: str) -> str:
    """Return ``key`` when it is a valid object key, else raise ``InvalidKey`` naming the rule.

    Keys are relative ``/``-separated paths of ``[A-Za-z0-9._-]`` segments, at most 512
    characters, with no empty, ``.`` or ``..`` segment.
    """
    if not isinstance(key, str):
        raise InvalidKey(repr(key), "must be a string")
    if not key:
        raise InvalidKey(key, "must not be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(key, f"must be at most {MAX_KEY_LENGTH} characters")
    if "\x00" in key:
        raise InvalidKey(key, "must not contain a NUL character")
    if "\\" in key:
        raise InvalidKey(key, "must not contain a backslash")
    if key.startswith("/"):
        raise InvalidKey(key, "must not start with /")
    for segment in key.split("/"):
        if not segment:
            raise InvalidKey(key, "must not contain an empty segment")
        if segment in (".", ".."):
            raise InvalidKey(key, "must not contain a . or .. segment")
        if len(segment) > MAX_SEGMENT_LENGTH:
            raise InvalidKey(key, f"segments must be at most {MAX_SEGMENT_LENGTH} characters")
        if not _SEGMENT.fullmatch(segment):
            raise InvalidKey(key, "may only contain A-Z a-z 0-9 . _ - and /")
    return key


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` when it can start a valid key (``""`` lists everything)."""
    if prefix:
        validate_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix


def key_path(root: Path, key: str) -> Path:
    """The file for ``key`` under the resolved directory ``root``; never a path outside it.

    Touches the filesystem (symlinks are resolved), so call it from a worker thread.
    """
    path = (root / validate_key(key)).resolve()
    if not path.is_relative_to(root) or path == root:
        raise InvalidKey(key, "resolves outside the store")
    return path


def content_disposition(filename: str, *, fallback: str | None = None) -> str:
    """``attachment`` with an ASCII name (``fallback``, else ``filename`` made ASCII) and the
    RFC 5987 UTF-8 ``filename*``."""
    name = "".join(ch for ch in filename if ch.isprintable()).replace("/", "_") or "download"
    fallback = _FALLBACK_UNSAFE.sub("_", fallback or name).strip() or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
