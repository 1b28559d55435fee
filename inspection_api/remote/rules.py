"""Pure rules of remote inspection: invite tokens and their validity, ICE servers with
TURN REST credentials, the invite link and its QR code. No IO; unit-tested on their own."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import datetime
from typing import Any, Literal

import qrcode
from qrcode.image.svg import SvgPathImage

from inspection_api.errors import InvalidField, InviteExpired, InviteRevoked, SessionClosed
from inspection_api.remote.models import CLOSED_STATES, STATE_LABELS, RemoteInvite, SessionState
from loancheck.settings import Settings

INVITE_MINUTES_DEFAULT = 60
INVITE_MINUTES_MIN = 5
INVITE_MINUTES_MAX = 1440
DEVICE_ID_MAX = 64


InviteStatus = Literal["valid", "expired", "revoked"]


def invite_status(invite: RemoteInvite, now: datetime) -> InviteStatus:
    if invite.revoked_at is not None:
        return "revoked"
    return "expired" if now >= invite.expires_at else "valid"


def check_invite(invite: RemoteInvite, state: SessionState, now: datetime) -> None:
    """Refuse an invite that admits nobody any more. Revocation is named first (someone
    chose it), then a closed session, then the expiry."""
    status = invite_status(invite, now)
    if status == "revoked":
        raise InviteRevoked()
    if state in CLOSED_STATES:
        raise SessionClosed(state=STATE_LABELS[state])
    if status == "expired":
        raise InviteExpired()


def check_expiry_minutes(minutes: int, field: str) -> None:
    if not INVITE_MINUTES_MIN <= minutes <= INVITE_MINUTES_MAX:
        raise InvalidField(
            field,
            f"有效期应为 {INVITE_MINUTES_MIN} 到 {INVITE_MINUTES_MAX} 分钟",
            f"must be between {INVITE_MINUTES_MIN} and {INVITE_MINUTES_MAX} minutes",
        )


def check_device_id(device_id: str) -> None:
    if not isinstance(device_id, str) or not 1 <= len(device_id) <= DEVICE_ID_MAX:
        raise InvalidField(
            "device_id",
            f"设备标识应为 1 到 {DEVICE_ID_MAX} 个字符",
            f"device_id must be 1 to {DEVICE_ID_MAX} characters",
        )


def turn_credentials(secret: str, label: str, expiry: int) -> tuple[str, str]:
    """coturn ``use-auth-secret`` (TURN REST API): username ``"{expiry}:{label}"``,
    credential ``base64(HMAC-SHA1(secret, username))``."""
    username = f"{expiry}:{label}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(
    settings: Settings, participant_label: str, *, now: float | None = None
) -> list[dict[str, Any]]:
    """RTCIceServer dicts for a browser: the STUN URLs, and the TURN URLs with credentials
    valid for TURN_TTL_SECONDS. TURN without a secret is left out: it could not admit."""
    servers: list[dict[str, Any]] = []
    if settings.stun_urls:
        servers.append({"urls": list(settings.stun_urls)})
    if settings.turn_urls and settings.turn_secret:
        expiry = int(time.time() if now is None else now) + settings.turn_ttl_seconds
        username, credential = turn_credentials(settings.turn_secret, participant_label, expiry)
        servers.append(
            {"urls": list(settings.turn_urls), "username": username, "credential": credential}
        )
    return servers


def invite_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url}/join/{token}"


def qr_svg(text: str) -> str:
    """The text as a QR code, SVG markup (CPU-bound: call it in a thread)."""
    image = qrcode.make(text, image_factory=SvgPathImage, border=2)
    return str(image.to_string(encoding="unicode"))
