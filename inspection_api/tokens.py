"""Bearer secrets (session cookies, API tokens, invite links): 256 random bits, URL-safe,
stored only as their SHA-256 so a leaked table leaks no live secret."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def derived_key(secret: str, purpose: str) -> bytes:
    """A key for one purpose, derived from the installation's secret key (never the secret
    itself, so that one leaked purpose key unlocks nothing else)."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()


def recorder_credential(secret: str) -> str:
    """What recorder workers present to signaling: every node derives the same value."""
    return derived_key(secret, "loancheck recorder workers").hex()
