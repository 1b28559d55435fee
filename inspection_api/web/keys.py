"""Typed application keys for the resources the API layer uses ("no singletons please")."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from loancheck.settings import Settings
from storage.base import ObjectStore

if TYPE_CHECKING:
    from inspection_api.auth.principal import Principal
    from inspection_api.web.routing import Ctx

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONMAKER = web.AppKey("sessionmaker", async_sessionmaker[AsyncSession])
STORE = web.AppKey("store", ObjectStore)
AUTHENTICATOR = web.AppKey("authenticator", Callable[["Ctx"], Awaitable["Principal | None"]])
# Pushes events to connected consoles; set by the composition root (Socket.IO in practice).
NOTIFIER = web.AppKey("notifier", Any)
REDIS = web.AppKey("redis", Any)  # redis.asyncio.Redis, only when LOANCHECK_REDIS_URL is set
# Zero-argument async checks run by /readyz, by name ("database", "object_store", "redis").
READINESS = web.AppKey("readiness", dict[str, Callable[[], Awaitable[None]]])
