"""Remote inspection rules without IO: invite validity, tokens, TURN credentials, the link."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspection_api.errors import (
    InspectionError,
    InvalidField,
    InviteExpired,
    InviteRevoked,
    SessionClosed,
)
from inspection_api.remote.models import CLOSED_STATES, RemoteInvite, SessionState
from inspection_api.remote.rules import (
    check_device_id,
    check_expiry_minutes,
    check_invite,
    ice_servers,
    invite_status,
    invite_url,
    qr_svg,
    turn_credentials,
)
from inspection_api.tokens import digest, new_token
from loancheck.settings import Settings

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def _invite(expires_at: datetime, revoked_at: datetime | None = None) -> RemoteInvite:
    return RemoteInvite(
        token_hash="0" * 64,
        contact_name="刘联系",
        created_at=T0,
        expires_at=expires_at,
        revoked_at=revoked_at,
    )


def _settings(**values: str) -> Settings:
    env = {"LOANCHECK_DATA_DIR": str(Path("/nonexistent")), "LOANCHECK_SECRET_KEY": "k" * 40}
    return Settings.from_env(env | {f"LOANCHECK_{k}": v for k, v in values.items()})


# ---- invites ----

offsets = st.integers(min_value=-(10**7), max_value=10**7).map(lambda s: timedelta(seconds=s))
states = st.sampled_from(list(SessionState))


@given(expires=offsets, revoked=st.none() | offsets, state=states, now=offsets)
def test_an_invite_admits_only_when_unrevoked_unexpired_and_the_session_open(
    expires, revoked, state, now
):
    invite = _invite(T0 + expires, None if revoked is None else T0 + revoked)
    admits = revoked is None and state not in CLOSED_STATES and now < expires
    try:
        check_invite(invite, state, T0 + now)
    except (InviteRevoked, InviteExpired, SessionClosed):
        assert not admits
    else:
        assert admits


@given(lifetime=offsets, after=st.integers(min_value=0, max_value=10**8), state=states)
def test_a_token_never_validates_after_expiry(lifetime, after, state):
    invite = _invite(T0 + lifetime)
    with pytest.raises((InviteExpired, SessionClosed)):
        check_invite(invite, state, T0 + lifetime + timedelta(seconds=after))


@given(expires=offsets, revoked=offsets, now=offsets, state=states)
def test_a_token_never_validates_after_revocation(expires, revoked, now, state):
    invite = _invite(T0 + expires, T0 + revoked)
    with pytest.raises(InviteRevoked):  # whatever else holds, revocation is named
        check_invite(invite, state, T0 + now)
    assert invite_status(invite, T0 + now) == "revoked"


def test_closed_sessions_are_named_before_the_expiry():
    expired = _invite(T0 - timedelta(minutes=1))
    with pytest.raises(SessionClosed) as caught:
        check_invite(expired, SessionState.CANCELLED, T0)
    assert caught.value.message("zh") == "本次远程巡检已取消"
    with pytest.raises(InviteExpired) as expired_error:
        check_invite(expired, SessionState.ACTIVE, T0)
    assert expired_error.value.message("zh") == "链接已过期"
    assert expired_error.value.status == 410
    check_invite(_invite(T0 + timedelta(seconds=1)), SessionState.PENDING, T0)


def test_tokens_carry_256_bits_and_only_their_digest_is_kept():
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    token = tokens.pop()
    assert len(token) == 43 and token.replace("-", "").replace("_", "").isalnum()
    hashed = digest(token)
    assert len(hashed) == 64 and token not in hashed
    assert digest(token[:-1] + ("A" if token[-1] != "A" else "B")) != hashed


@given(minutes=st.integers(min_value=-100, max_value=3000))
def test_invite_lifetime_is_5_to_1440_minutes(minutes):
    if 5 <= minutes <= 1440:
        check_expiry_minutes(minutes, "body.expires_in_minutes")
    else:
        with pytest.raises(InvalidField) as caught:
            check_expiry_minutes(minutes, "body.expires_in_minutes")
        assert caught.value.extra("zh")["errors"] == [
            {"field": "body.expires_in_minutes", "message": "有效期应为 5 到 1440 分钟"}
        ]


@pytest.mark.parametrize("device_id", ["", "x" * 65])
def test_device_ids_are_1_to_64_characters(device_id):
    with pytest.raises(InspectionError):
        check_device_id(device_id)
    check_device_id("x" * 64)


# ---- ICE servers ----


def test_turn_credentials_match_a_hand_computed_vector():
    # printf '1700003600:p42' | openssl dgst -sha1 -hmac coturn-secret -binary | base64
    username, credential = turn_credentials("coturn-secret", "p42", 1_700_003_600)
    assert username == "1700003600:p42"
    assert credential == "xdHMhGS4b6Ga6AuAsmXRot6VEJg="


def test_ice_servers_give_stun_and_time_limited_turn_credentials():
    settings = _settings(
        STUN_URLS="stun:stun.bank.example:3478",
        TURN_URLS="turn:turn.bank.example:3478?transport=udp,turns:turn.bank.example:5349",
        TURN_SECRET="coturn-secret",
        TURN_TTL_SECONDS="3600",
    )
    servers = ice_servers(settings, "p42", now=1_700_000_000.7)
    assert servers == [
        {"urls": ["stun:stun.bank.example:3478"]},
        {
            "urls": [
                "turn:turn.bank.example:3478?transport=udp",
                "turns:turn.bank.example:5349",
            ],
            "username": "1700003600:p42",
            "credential": "xdHMhGS4b6Ga6AuAsmXRot6VEJg=",
        },
    ]


def test_turn_without_a_secret_is_left_out_and_nothing_configured_gives_none():
    # Settings refuse TURN_URLS without TURN_SECRET; a hand-built Settings still gets no TURN.
    no_secret = replace(_settings(), turn_urls=("turn:turn.bank.example:3478",))
    assert ice_servers(no_secret, "p1") == []
    assert ice_servers(_settings(STUN_URLS="stun:a:3478"), "p1") == [{"urls": ["stun:a:3478"]}]


# ---- the link ----


def test_the_invite_link_and_its_qr_code():
    settings = _settings(PUBLIC_URL="https://Check.Bank.Example/")
    url = invite_url(settings, "tok")
    assert url == "https://check.bank.example/join/tok"
    svg = qr_svg(url)
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.find("{http://www.w3.org/2000/svg}path") is not None
