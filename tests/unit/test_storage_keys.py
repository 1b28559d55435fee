from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.errors import InvalidKey, ObjectNotFound, ObjectTooLarge, StoreUnavailable
from storage.keys import content_disposition, key_path, validate_key, validate_prefix

# Never created: resolving paths under it touches nothing.
ROOT = Path("/nonexistent-loancheck-objects-root")


@pytest.mark.parametrize(
    "key",
    [
        "a",
        "recordings/42/part-0001.webm",
        "reports/2024/Q1_report.v2.pdf",
        ".hidden/..dots/...",
        "x" * 200 + "/" + "y" * 200 + "/" + "z" * 110,
    ],
)
def test_valid_keys_are_returned_unchanged(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "must not be empty"),
        ("a" * 513, "must be at most 512 characters"),
        ("a\x00b", "must not contain a NUL character"),
        ("a\\b", "must not contain a backslash"),
        ("/etc/passwd", "must not start with /"),
        ("a//b", "must not contain an empty segment"),
        ("a/", "must not contain an empty segment"),
        ("../x", "must not contain a . or .. segment"),
        ("a/./b", "must not contain a . or .. segment"),
        ("a/..", "must not contain a . or .. segment"),
        ("a/" + "b" * 201, "segments must be at most 200 characters"),
        ("a b", "may only contain A-Z a-z 0-9 . _ - and /"),
        ("录像.webm", "may only contain A-Z a-z 0-9 . _ - and /"),
        ("a~meta.json", "may only contain A-Z a-z 0-9 . _ - and /"),
        ("a?b", "may only contain A-Z a-z 0-9 . _ - and /"),
        ("a%2e%2e", "may only contain A-Z a-z 0-9 . _ - and /"),
    ],
)
def test_invalid_keys_name_the_rule(key: str, reason: str) -> None:
    with pytest.raises(InvalidKey) as caught:
        validate_key(key)
    assert caught.value.key == key
    assert caught.value.reason == reason
    assert str(caught.value) == f"invalid object key {key!r}: {reason}"


def test_error_messages_are_pinned() -> None:
    assert str(InvalidKey("../x", "must not contain a . or .. segment")) == (
        "invalid object key '../x': must not contain a . or .. segment"
    )
    assert str(ObjectNotFound("a/b")) == "object not found: a/b"
    assert str(StoreUnavailable("timeout")) == "object store unavailable: timeout"
    assert str(ObjectTooLarge(1024)) == "object larger than the limit of 1024 bytes"


@pytest.mark.parametrize("prefix", ["", "recordings/", "recordings/4", "a/b/"])
def test_valid_prefixes(prefix: str) -> None:
    assert validate_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["/", "../", "a//", "a/../b", "/abs"])
def test_invalid_prefixes(prefix: str) -> None:
    with pytest.raises(InvalidKey):
        validate_prefix(prefix)


# Keys built from the pieces that matter for traversal: dots, slashes, backslashes, NUL.
_KEYISH = st.lists(
    st.sampled_from(["a", "b0", ".", "..", "...", "-", "_", "/", "/../", "\\", "\x00", "~", " "]),
    max_size=20,
).map("".join)


@given(st.one_of(_KEYISH, st.text(max_size=40)))
def test_accepted_keys_resolve_inside_the_root(key: str) -> None:
    try:
        validate_key(key)
    except InvalidKey:
        with pytest.raises(InvalidKey):
            key_path(ROOT, key)
        return
    path = key_path(ROOT, key)
    assert path.is_relative_to(ROOT)
    assert path != ROOT
    assert path.relative_to(ROOT).as_posix() == key


def test_content_disposition_has_ascii_fallback_and_utf8_name() -> None:
    header = content_disposition("巡检录像 2024.webm")
    assert header == (
        "attachment; filename=\"____ 2024.webm\"; filename*=UTF-8''"
        + quote("巡检录像 2024.webm", safe="")
    )


def test_content_disposition_takes_a_named_ascii_fallback_made_safe_too() -> None:
    header = content_disposition("审计日志-20261206-0030.csv", fallback="audit-log.csv")
    assert header == (
        "attachment; filename=\"audit-log.csv\"; filename*=UTF-8''"
        + quote("审计日志-20261206-0030.csv", safe="")
    )
    assert 'filename="a_b.csv"' in content_disposition("x.csv", fallback='a"b.csv')


def test_content_disposition_drops_header_breaking_characters() -> None:
    header = content_disposition('evil"\r\nSet-Cookie: x=1/..\\a.txt')
    assert "\r" not in header and "\n" not in header
    fallback = header.split(";")[1]
    assert fallback == ' filename="evil_Set-Cookie_ x_1_.._a.txt"'
