"""Authentication: password login, browser sessions, API tokens, password change.

Session and token secrets are 256-bit random values; only their SHA-256 is stored.
"""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from inspection_api.audit.service import Origin, record
from inspection_api.auth.models import ApiToken, AuthSession, LoginAttempt
from inspection_api.auth.principal import Principal, Role
from inspection_api.db import utcnow
from inspection_api.errors import InvalidCredentials, InvalidField, NotFound, RateLimited
from inspection_api.orgs.models import Org
from inspection_api.tokens import digest, new_token
from inspection_api.users.models import User, UserRole
from loancheck.settings import Settings

COOKIE_BASE = "loancheck_session"
TOKEN_PREFIX = "lct_"
TOUCH_EVERY = timedelta(seconds=60)
BACKOFF_CAP_SECONDS = 15 * 60
IP_FAILURE_FACTOR = 4
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()  # stateless parameters (RFC 9106 low-memory profile)


# The hash of a random password nobody kept, at the production parameters: an unknown
# username is verified against it, so that path costs one verification like a known one,
# and never a hash and a verification (the first unknown username used to pay both).
_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$pJmSnpdeIwkx1egmxthSZw"
    "$0sQuMrMcGzAqRcnCoMoUcy13EK33yFCMmMdixlsdNg8"
)


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Verified against when the username is unknown, so both paths cost the same time:
    the constant above at the hasher's parameters, else one made at the first such login
    (a hasher of other parameters: the tests' cheap one), not at import."""
    if not hasher.check_needs_rehash(_DUMMY_HASH):
        return _DUMMY_HASH
    return hasher.hash("loancheck-dummy-password")


def session_cookie_name(settings: Settings) -> str:
    """``__Host-`` needs Secure, which browsers refuse on plain http://localhost."""
    return f"__Host-{COOKIE_BASE}" if settings.secure_cookies else COOKIE_BASE


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def _verify(password_hash: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def check_password_rules(password: str, username: str, field: str) -> None:
    """At least 10 characters, letters and digits, not containing the username."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidField(
            field,
            f"密码长度至少 {MIN_PASSWORD_LENGTH} 位",
            f"must be at least {MIN_PASSWORD_LENGTH} characters",
        )
    if not (any(c.isalpha() for c in password) and any(c.isdigit() for c in password)):
        raise InvalidField(field, "密码须同时包含字母和数字", "must contain letters and digits")
    if username and username.lower() in password.lower():
        raise InvalidField(field, "密码不能包含用户名", "must not contain the username")


@dataclass(frozen=True)
class LoginResult:
    token: str
    session_id: int
    user: User
    org: Org
    principal: Principal
    expires_at: datetime


async def _failures_since(
    session: AsyncSession, column: Any, value: str, since: datetime
) -> tuple[int, datetime | None]:
    row = (
        await session.execute(
            select(func.count(), func.max(LoginAttempt.at)).where(
                column == value, LoginAttempt.success.is_(False), LoginAttempt.at > since
            )
        )
    ).one()
    return int(row[0]), row[1]


def _wait(failures: int, limit: int, last: datetime | None, base: float, now: datetime) -> float:
    if failures < limit or last is None:
        return 0.0
    backoff = min(base * 2 ** (failures - limit), BACKOFF_CAP_SECONDS)
    return max(0.0, (last - now).total_seconds() + backoff)


async def _check_rate_limit(
    session: AsyncSession, settings: Settings, username: str, ip: str, now: datetime
) -> None:
    """Exponential backoff per account (since its last success) and per IP (last hour)."""
    last_success = await session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.success.is_(True)
        )
    )
    since = max(last_success or now - timedelta(days=1), now - timedelta(days=1))
    base = settings.login_backoff_base_seconds
    limit = settings.login_max_failures
    count, last = await _failures_since(session, LoginAttempt.username, username, since)
    wait = _wait(count, limit, last, base, now)
    ip_count, ip_last = await _failures_since(
        session, LoginAttempt.ip, ip, now - timedelta(hours=1)
    )
    wait = max(wait, _wait(ip_count, limit * IP_FAILURE_FACTOR, ip_last, base, now))
    if wait > 0:
        raise RateLimited(retry_after=math.ceil(wait))


async def _user_by_username(session: AsyncSession, username: str) -> tuple[User, Org] | None:
    row = (
        await session.execute(
            select(User, Org).join(Org, User.org_id == Org.id).where(User.username == username)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def login(
    session: AsyncSession,
    settings: Settings,
    *,
    username: str,
    password: str,
    origin: Origin,
    replaces_token: str | None = None,
) -> LoginResult:
    """Verify the password and open a new session (a fresh id at every login)."""
    now = utcnow()
    try:
        await _check_rate_limit(session, settings, username, origin.ip, now)
    except RateLimited:
        record(session, "login_rate_limited", origin=origin, actor_username=username)
        await session.commit()
        raise
    found = await _user_by_username(session, username)
    known = found[0].password_hash if found else await asyncio.to_thread(_dummy_hash, _hasher)
    # The one Argon2 verification of a login; a rehash below only when the stored hash has
    # older parameters (once per user).
    valid = await _verify(known, password)
    ok = bool(found and valid and found[0].is_active)
    session.add(LoginAttempt(username=username, ip=origin.ip, success=ok, at=now))
    if not ok or found is None:
        record(
            session,
            "login_failed",
            origin=origin,
            actor_username=username,
            org_path=found[1].path if found else None,
            reason="inactive" if found and valid else "bad_credentials",
        )
        await session.commit()
        raise InvalidCredentials()
    user, org = found
    if replaces_token:
        await _revoke_by_token(session, replaces_token, now)
    token = new_token()
    expires_at = now + timedelta(hours=settings.session_max_hours)
    auth_session = AuthSession(
        token_hash=digest(token),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=expires_at,
        ip=origin.ip,
        user_agent=origin.user_agent,
    )
    session.add(auth_session)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    await session.flush()
    principal = _principal(user, org, session_id=auth_session.id)
    record(session, "login_succeeded", origin=origin, actor=principal, session_id=auth_session.id)
    return LoginResult(
        token=token,
        session_id=auth_session.id,
        user=user,
        org=org,
        principal=principal,
        expires_at=expires_at,
    )


def _principal(
    user: User, org: Org, *, session_id: int | None = None, token_id: int | None = None
) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        org_id=org.id,
        org_path=org.path,
        roles=user.roles,
        session_id=session_id,
        token_id=token_id,
    )


async def _revoke_by_token(session: AsyncSession, token: str, now: datetime) -> None:
    await session.execute(
        update(AuthSession)
        .where(AuthSession.token_hash == digest(token), AuthSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


# A bearer token's request reads its user's roles in the same statement (a user has a role
# or two), not in a second SELECT after it as the relationship's default would. (A session's
# check selects columns with the roles aggregated: principal_from_session_token.)
_WITH_ROLES = joinedload(User.role_rows)


async def principal_from_session_token(
    session: AsyncSession, settings: Settings, token: str
) -> Principal | None:
    """The principal of a live browser session, or None (unknown, revoked, idle or expired)."""
    now = utcnow()
    # Columns and the roles in one statement, not entities (every request asks this: the
    # ORM's loading of three objects and the roles' second query cost more than the rest).
    roles = (
        select(func.aggregate_strings(UserRole.role, ","))
        .where(UserRole.user_id == User.id)
        .scalar_subquery()
    )
    row = (
        await session.execute(
            select(
                AuthSession.id,
                AuthSession.revoked_at,
                AuthSession.expires_at,
                AuthSession.last_seen_at,
                User.id,
                User.username,
                User.is_active,
                Org.id,
                Org.path,
                roles,
            )
            .join(User, AuthSession.user_id == User.id)
            .join(Org, User.org_id == Org.id)
            .where(AuthSession.token_hash == digest(token))
        )
    ).first()
    if row is None:
        return None
    (
        session_id,
        revoked_at,
        expires_at,
        last_seen_at,
        user_id,
        username,
        active,
        org_id,
        path,
        role_list,
    ) = row
    idle_limit = timedelta(minutes=settings.session_idle_minutes)
    if (
        revoked_at is not None
        or not active
        or now >= expires_at
        or now - last_seen_at >= idle_limit
    ):
        return None
    if now - last_seen_at >= TOUCH_EVERY:
        # Written with the request's commit, as before (at most once a minute a session).
        auth_session = await session.get(AuthSession, session_id)
        if auth_session is not None:
            auth_session.last_seen_at = now
    return Principal(
        user_id=user_id,
        username=username,
        org_id=org_id,
        org_path=path,
        roles=frozenset(Role(r) for r in (role_list or "").split(",") if r),
        session_id=session_id,
    )


async def live_session_ids(
    session: AsyncSession, settings: Settings, session_ids: Collection[int]
) -> set[int]:
    """Those of ``session_ids`` still live: not revoked, not idle, not expired, user active."""
    if not session_ids:
        return set()
    now = utcnow()
    query = (
        select(AuthSession.id)
        .join(User, AuthSession.user_id == User.id)
        .where(
            AuthSession.id.in_(list(session_ids)),
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > now,
            AuthSession.last_seen_at > now - timedelta(minutes=settings.session_idle_minutes),
            User.is_active.is_(True),
        )
    )
    return set((await session.scalars(query)).all())


def token_expiry(row: ApiToken, settings: Settings) -> datetime:
    """When a token stops working: at its own expiry, and at the latest
    ``api_token_max_days`` after it was made (also for tokens made before that limit)."""
    latest = row.created_at + timedelta(days=settings.api_token_max_days)
    return latest if row.expires_at is None else min(row.expires_at, latest)


async def principal_from_api_token(
    session: AsyncSession, settings: Settings, token: str
) -> Principal | None:
    """The principal of a live API token, or None (unknown, revoked, expired, user inactive)."""
    now = utcnow()
    result = await session.execute(
        select(ApiToken, User, Org)
        .join(User, ApiToken.user_id == User.id)
        .join(Org, User.org_id == Org.id)
        .where(ApiToken.token_hash == digest(token))
        .options(_WITH_ROLES)
    )
    row = result.unique().first()  # a row per role: one principal
    if row is None:
        return None
    api_token, user, org = row
    if (
        api_token.revoked_at is not None
        or not user.is_active
        or now >= token_expiry(api_token, settings)
    ):
        return None
    if api_token.last_used_at is None or now - api_token.last_used_at >= TOUCH_EVERY:
        api_token.last_used_at = now
    return _principal(user, org, token_id=api_token.id)


async def logout(session: AsyncSession, principal: Principal, origin: Origin) -> None:
    if principal.session_id is not None:
        await session.execute(
            update(AuthSession)
            .where(AuthSession.id == principal.session_id)
            .values(revoked_at=utcnow())
        )
    record(session, "logout", origin=origin, actor=principal)


async def revoke_sessions(
    session: AsyncSession, user_id: int, *, keep_session_id: int | None = None
) -> list[int]:
    """Revoke the user's live sessions (but ``keep_session_id``); return the revoked ids."""
    query = select(AuthSession.id).where(
        AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
    )
    if keep_session_id is not None:
        query = query.where(AuthSession.id != keep_session_id)
    ids = list((await session.scalars(query)).all())
    if ids:
        await session.execute(
            update(AuthSession).where(AuthSession.id.in_(ids)).values(revoked_at=utcnow())
        )
    return ids


async def _confirm_password(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    password: str,
    *,
    field: str,
    failed_action: str,
    origin: Origin,
) -> User:
    """The caller's user, once ``password`` is theirs. A wrong one counts as a failed login
    (the same backoff), is audited as ``failed_action`` and names ``field``."""
    user = await session.get(User, principal.user_id)
    if user is None:
        raise NotFound(resource="user", id=principal.user_id)
    await _check_rate_limit(session, settings, user.username, origin.ip, utcnow())
    if not await _verify(user.password_hash, password):
        session.add(LoginAttempt(username=user.username, ip=origin.ip, success=False))
        record(session, failed_action, origin=origin, actor=principal)
        await session.commit()
        raise InvalidField(field, "当前密码不正确", "current password is wrong")
    return user


async def change_password(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    *,
    current_password: str,
    new_password: str,
    origin: Origin,
) -> list[int]:
    """Change one's own password; every other session of the user ends (ids returned) and
    every API token of the user is revoked."""
    user = await _confirm_password(
        session,
        settings,
        principal,
        current_password,
        field="body.current_password",
        failed_action="password_change_failed",
        origin=origin,
    )
    check_password_rules(new_password, user.username, "body.new_password")
    if await _verify(user.password_hash, new_password):
        raise InvalidField(
            "body.new_password", "新密码不能与当前密码相同", "must differ from the current one"
        )
    user.password_hash = await hash_password(new_password)
    user.password_changed_at = utcnow()
    revoked = await revoke_sessions(session, user.id, keep_session_id=principal.session_id)
    tokens = await revoke_api_tokens(session, user.id)
    record(
        session,
        "password_changed",
        origin=origin,
        actor=principal,
        sessions_ended=len(revoked),
        tokens_revoked=tokens,
    )
    return revoked


async def create_api_token(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    *,
    name: str,
    expires_in_days: int | None,
    password: str,
    origin: Origin,
) -> tuple[str, ApiToken]:
    """Mint a token for the caller, who types their password again: a browser left open
    must not be enough to take away a credential that outlives the session."""
    limit = settings.api_token_max_days
    if expires_in_days is not None and expires_in_days > limit:
        raise InvalidField(
            "body.expires_in_days",
            f"有效期最长 {limit} 天",
            f"must be at most {limit} days",
        )
    await _confirm_password(
        session,
        settings,
        principal,
        password,
        field="body.password",
        failed_action="token_create_failed",
        origin=origin,
    )
    token = TOKEN_PREFIX + new_token()
    now = utcnow()
    row = ApiToken(
        token_hash=digest(token),
        user_id=principal.user_id,
        name=name,
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days or limit),
    )
    session.add(row)
    await session.flush()
    record(session, "token_created", origin=origin, actor=principal, token_id=row.id, name=name)
    return token, row


async def live_api_tokens(
    session: AsyncSession, settings: Settings, user_id: int
) -> list[ApiToken]:
    """The user's tokens that still work (not revoked, not expired), oldest first."""
    query = (
        select(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.id)
    )
    now = utcnow()
    rows = (await session.scalars(query)).all()
    return [row for row in rows if now < token_expiry(row, settings)]


async def revoke_api_token(
    session: AsyncSession,
    principal: Principal,
    token_id: int,
    origin: Origin,
    *,
    user_id: int,
    org_path: str | None = None,
) -> None:
    """Revoke one of ``user_id``'s tokens (the caller's own, or as their administrator:
    then ``org_path`` is the user's org, where the audit event belongs)."""
    row = await session.get(ApiToken, token_id)
    if row is None or row.user_id != user_id or row.revoked_at is not None:
        raise NotFound(resource="token", id=token_id)
    row.revoked_at = utcnow()
    record(
        session,
        "token_revoked",
        origin=origin,
        actor=principal,
        org_path=org_path,
        token_id=token_id,
        user_id=user_id,
    )


async def revoke_api_tokens(session: AsyncSession, user_id: int) -> int:
    """Revoke every token of the user; return how many were live."""
    result = await session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
