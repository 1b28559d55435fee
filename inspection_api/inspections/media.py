"""What an evidence file may be (pure, no IO): the MIME types of each kind, the bytes each
type starts with, the SHA-256 that proves it arrived as the phone made it, and its object key.

The declared type alone proves nothing (any client can send any header), so the first bytes
must match it too: a JPEG starts FF D8 FF, a WebM with the EBML header and doc type "webm"…
"""

from __future__ import annotations

import hashlib
import re
import uuid

from inspection_api.checklists.content import EVIDENCE_LABELS, EvidenceKind
from inspection_api.inspections.errors import (
    EvidenceContentMismatch,
    EvidenceTampered,
    EvidenceTypeRefused,
)

ALLOWED_TYPES: dict[EvidenceKind, tuple[str, ...]] = {
    EvidenceKind.PHOTO: ("image/jpeg", "image/png", "image/webp"),
    EvidenceKind.VIDEO: ("video/webm", "video/mp4"),
    EvidenceKind.AUDIO: ("audio/webm", "audio/ogg", "audio/mp4"),
}
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "video/webm": "webm",
    "video/mp4": "mp4",
    "audio/webm": "weba",
    "audio/ogg": "ogg",
    "audio/mp4": "m4a",
}
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_EBML = b"\x1a\x45\xdf\xa3"


def media_type(content_type: str) -> str:
    """``video/webm`` from ``Video/WebM;codecs=vp8,opus`` (what MediaRecorder reports)."""
    return content_type.split(";", 1)[0].strip().lower()


def check_type(kind: EvidenceKind, content_type: str) -> str:
    """The media type, when ``kind`` accepts it; else EvidenceTypeRefused naming the list."""
    mime = media_type(content_type)
    allowed = ALLOWED_TYPES[kind]
    if mime not in allowed:
        raise EvidenceTypeRefused(
            kind=EVIDENCE_LABELS[kind],
            allowed=("、".join(allowed), ", ".join(allowed)),
            allowed_types=allowed,
            got=mime or "（无）",
        )
    return mime


def _is_mp4(head: bytes) -> bool:
    return len(head) >= 12 and head[4:8] == b"ftyp"


def _is_webm(head: bytes) -> bool:
    # The EBML header names its DocType within its first few dozen bytes.
    return head.startswith(_EBML) and b"webm" in head[:64]


_SIGNATURES = {
    "image/jpeg": lambda head: head.startswith(b"\xff\xd8\xff"),
    "image/png": lambda head: head.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/webp": lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP",
    "video/webm": _is_webm,
    "audio/webm": _is_webm,
    "video/mp4": _is_mp4,
    "audio/mp4": _is_mp4,
    "audio/ogg": lambda head: head.startswith(b"OggS"),
}


def check_content(mime: str, data: bytes) -> None:
    """Refuse bytes that are not what ``mime`` says (EvidenceContentMismatch, 415)."""
    if not _SIGNATURES[mime](data[:64]):
        raise EvidenceContentMismatch(mime=mime)


def check_digest(data: bytes, claimed: str) -> str:
    """The SHA-256 of ``data``; EvidenceTampered when the phone computed another one."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != claimed.lower():
        raise EvidenceTampered()
    return actual


def object_key(inspection_id: int, mime: str) -> str:
    """``inspections/<id>/evidence/<uuid>.<ext>``: unguessable and never reused."""
    return f"inspections/{inspection_id}/evidence/{uuid.uuid4().hex}.{EXTENSIONS[mime]}"
