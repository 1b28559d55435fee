"""Pure rules of rectifications (no IO): states, due dates read in China, the contact's link,
and which photos are accepted (by their bytes, never by the name or declared type)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from inspection_api.beijing import local_date
from inspection_api.rectifications.errors import RectifyLinkExpired
from inspection_api.rectifications.models import Rectification, RectificationState
from loancheck.settings import Settings

TEXT_MAX = 2000
MAX_PHOTOS = 9  # per reply
LINK_DAYS_DEFAULT = 30
LINK_DAYS_MIN = 1
LINK_DAYS_MAX = 180

AWAITING_CONTACT = frozenset({RectificationState.ISSUED, RectificationState.REOPENED})
REPLYABLE = frozenset(
    {RectificationState.ISSUED, RectificationState.REPLIED, RectificationState.REOPENED}
)
VERIFIABLE = frozenset({RectificationState.REPLIED})  # close or reopen
OPEN_STATES = REPLYABLE  # everything but closed

# Accepted photo types and the extension their objects get.
PHOTO_TYPES: dict[str, str] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/heic": "heic",  # iPhones
    "image/heif": "heif",
}
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"}
_HEIF_BRANDS = {b"mif1", b"msf1"}


def sniff_photo(data: bytes) -> str | None:
    """The photo type of ``data`` by its signature, or None when it is none of ours."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if len(data) >= 12 and data[4:8] == b"ftyp":
        if data[8:12] in _HEIC_BRANDS:
            return "image/heic"
        if data[8:12] in _HEIF_BRANDS:
            return "image/heif"
    return None


def photo_key(rectification_id: int, sha256: str, content_type: str) -> str:
    """Content-addressed: the same photo sent twice is one object."""
    return f"rectifications/{rectification_id}/{sha256}.{PHOTO_TYPES[content_type]}"


def is_overdue(state: RectificationState, due_date: date, now: datetime) -> bool:
    """逾期: waiting for the enterprise, and the due day (in China) has passed."""
    return state in AWAITING_CONTACT and local_date(now) > due_date


LinkStatus = Literal["valid", "expired", "none"]


def link_status(rectification: Rectification, now: datetime) -> LinkStatus:
    if rectification.token_hash is None or rectification.link_expires_at is None:
        return "none"
    return "expired" if now >= rectification.link_expires_at else "valid"


def check_link(rectification: Rectification, now: datetime) -> None:
    """Refuse a link past its expiry (410). A closed rectification's link still opens, to
    show the outcome, but takes no reply."""
    if link_status(rectification, now) != "valid":
        raise RectifyLinkExpired()


def rectify_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url}/rectify/{token}"
