"""QR labels (二维码标签): the signed payload a label carries, and its images. Pure: no IO.

A label encodes the URL ``{public_url}/s/{payload}`` so that a phone camera opens the
on-site page. The payload is URL-safe text::

    1.{checkpoint id}.{qr generation}.{signature}

``1`` is the format version; the signature is the first 128 bits of
HMAC-SHA256(key, "1.{id}.{generation}"), base64url without padding, with a key derived from
LOANCHECK_SECRET_KEY for this purpose only. Nothing else is in it: a label names a
checkpoint, it does not describe it, so printed labels never go stale when a checkpoint is
edited. Regenerating increments the generation: older labels still verify as ours but are
refused as retired.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.svg import SvgPathImage

from inspection_api.checkpoints.errors import QrInvalid
from inspection_api.tokens import derived_key

FORMAT_VERSION = 1
PURPOSE = "loancheck/checkpoint-qr-label/v1"
SIGNATURE_BYTES = 16
PAYLOAD_MAX = 200  # longest text accepted before parsing (a payload is about 35 characters)
LABEL_PATH = "/s/"
_PAYLOAD = re.compile(r"(\d+)\.([1-9]\d{0,9})\.([1-9]\d{0,9})\.([A-Za-z0-9_-]{22})")


@dataclass(frozen=True)
class LabelRef:
    """What a verified payload names."""

    checkpoint_id: int
    generation: int


def _signature(secret_key: str, message: str) -> str:
    mac = hmac.new(derived_key(secret_key, PURPOSE), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:SIGNATURE_BYTES]).rstrip(b"=").decode()


def sign(secret_key: str, checkpoint_id: int, generation: int) -> str:
    """The payload of a label for this checkpoint and QR generation."""
    message = f"{FORMAT_VERSION}.{checkpoint_id}.{generation}"
    return f"{message}.{_signature(secret_key, message)}"


def label_url(public_url: str, payload: str) -> str:
    return f"{public_url}{LABEL_PATH}{payload}"


def payload_of(text: str) -> str:
    """The payload in what a scanner read: the payload itself or a label URL (from any
    host: the signature, not the address, makes a label ours)."""
    text = text.strip()
    if "/" in text:
        path = urlsplit(text).path
        if LABEL_PATH not in path:
            raise QrInvalid()
        text = path.rsplit(LABEL_PATH, 1)[1].strip("/")
    return text


def verify(secret_key: str, text: str) -> LabelRef:
    """Check the signature; QrInvalid for anything forged, damaged or of another format.
    Whether the generation is still current is the caller's question (it needs the row)."""
    if len(text) > PAYLOAD_MAX:
        raise QrInvalid()
    match = _PAYLOAD.fullmatch(payload_of(text))
    if match is None or int(match[1]) != FORMAT_VERSION:
        raise QrInvalid()
    message = f"{match[1]}.{match[2]}.{match[3]}"
    if not hmac.compare_digest(match[4], _signature(secret_key, message)):
        raise QrInvalid()
    return LabelRef(checkpoint_id=int(match[2]), generation=int(match[3]))


def _code(text: str, border: int) -> qrcode.QRCode:
    # Level M (15 % recovery) keeps the code coarse enough for a 4 cm label and survives
    # some dirt; a label is printed and stuck on a wall, not shown on a screen.
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=border)
    code.add_data(text)
    code.make(fit=True)
    return code


def qr_png(text: str, *, border: int = 4) -> bytes:
    """The text as a black-on-white PNG (CPU-bound: call it in a thread)."""
    out = io.BytesIO()
    _code(text, border).make_image().save(out, format="PNG")
    return out.getvalue()


def qr_svg(text: str) -> str:
    """The text as SVG markup with the standard 4-module quiet zone."""
    image = _code(text, 4).make_image(image_factory=SvgPathImage)
    return str(image.to_string(encoding="unicode"))
