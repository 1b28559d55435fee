"""Pure rules of rectifications: photo types by their bytes, due dates in China, overdue,
the contact's link."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from inspection_api.rectifications.errors import RectifyLinkExpired
from inspection_api.rectifications.models import Rectification, RectificationState
from inspection_api.rectifications.rules import (
    check_link,
    is_overdue,
    link_status,
    photo_key,
    sniff_photo,
)


def image(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 40)).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "expected"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_real_images_are_recognised(fmt, expected):
    assert sniff_photo(image(fmt)) == expected


def test_heic_is_recognised_by_its_brand():
    assert sniff_photo(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00") == "image/heic"
    assert sniff_photo(b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00") == "image/heif"
    assert sniff_photo(b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00") is None  # an MP4 video


@pytest.mark.parametrize(
    "data",
    [
        image("GIF"),
        image("BMP"),
        b"%PDF-1.7\n",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"MZ\x90\x00",  # a Windows executable renamed .jpg
        b"",
        b"\xff\xd8",  # a truncated JPEG signature
    ],
)
def test_anything_else_is_refused(data):
    assert sniff_photo(data) is None


@given(st.binary(max_size=64))
def test_sniffing_never_raises_and_answers_an_allowed_type_or_none(data):
    assert sniff_photo(data) in {
        None,
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/heic",
        "image/heif",
    }


def test_objects_are_content_addressed_under_the_rectification():
    sha = "ab" * 32
    assert photo_key(7, sha, "image/jpeg") == f"rectifications/7/{sha}.jpg"
    assert photo_key(7, sha, "image/heic") == f"rectifications/7/{sha}.heic"


def test_overdue_only_while_waiting_for_the_enterprise_after_the_due_day():
    due = date(2026, 12, 1)
    last_minute = datetime(2026, 12, 1, 15, 59, tzinfo=UTC)  # 23:59 in Beijing
    next_day = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # 00:00 the day after
    assert not is_overdue(RectificationState.ISSUED, due, last_minute)
    assert is_overdue(RectificationState.ISSUED, due, next_day)
    assert is_overdue(RectificationState.REOPENED, due, next_day)
    assert not is_overdue(RectificationState.REPLIED, due, next_day)  # the bank's turn
    assert not is_overdue(RectificationState.CLOSED, due, next_day)


def test_link_status_and_expiry():
    now = datetime(2026, 11, 29, tzinfo=UTC)
    rectification = Rectification(token_hash="x" * 64, link_expires_at=now + timedelta(days=1))
    assert link_status(rectification, now) == "valid"
    check_link(rectification, now)
    assert link_status(rectification, now + timedelta(days=1)) == "expired"
    with pytest.raises(RectifyLinkExpired):
        check_link(rectification, now + timedelta(days=1))
    assert link_status(Rectification(token_hash=None, link_expires_at=None), now) == "none"
