"""Bearer secrets (session cookies, API tokens, invite links): 256 random bits, URL-safe,
stored only as their SHA-256 so a leaked table leaks no live secret."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
