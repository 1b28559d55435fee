"""Typed application keys for the resources the API layer uses ("no singletons please")."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from inspection_api.inspections.hooks import InspectionHook
from inspection_api.plans.scheduler import TaskScheduler
from loancheck.settings import Settings
from storage.base import ObjectStore

if TYPE_CHECKING:
    from inspection_api.auth.principal import Principal
    from inspection_api.web.routing import Ctx


class Notifier(Protocol):
    """Pushes to open consoles (Socket.IO in practice, set by the composition root)."""

    async def sessions_revoked(self, session_ids: Iterable[int], reason: str = "revoked") -> None:
        """Tell the consoles of ended sessions and close them."""

    async def to_user(self, user_id: int, event: str, data: Any) -> None:
        """Push ``event`` to every console the user has open."""

    async def call_ended(self, session_id: int) -> None:
        """Tell everyone in a remote-inspection call that its session ended."""

    async def participant_removed(self, session_id: int, participant_id: int, reason: str) -> None:
        """Drop one participant from a call (its slot already closed) and tell the others."""


class Clock(Protocol):
    """The time, as an aware UTC datetime (``db.utcnow``; tests pass one they can move)."""

    def __call__(self) -> datetime: ...


SETTINGS = web.AppKey("settings", Settings)
# CSP hashes of the inline scripts of the API docs page (swagger-ui), set with its routes.
DOCS_SCRIPT_HASHES = web.AppKey("docs_script_hashes", tuple[str, ...])
CLOCK = web.AppKey("clock", Clock)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONMAKER = web.AppKey("sessionmaker", async_sessionmaker[AsyncSession])
STORE = web.AppKey("store", ObjectStore)


class Authenticator(Protocol):
    """Who is calling (bearer token or session cookie), or None."""

    def __call__(self, ctx: Ctx) -> Awaitable[Principal | None]: ...


AUTHENTICATOR = web.AppKey("authenticator", Authenticator)
NOTIFIER = web.AppKey("notifier", Notifier)
TASK_SCHEDULER = web.AppKey("task_scheduler", TaskScheduler)
REDIS = web.AppKey("redis", Redis)  # only when LOANCHECK_REDIS_URL is set
# Zero-argument async checks run by /readyz, by name ("database", "object_store", "redis").
READINESS = web.AppKey("readiness", dict[str, Callable[[], Awaitable[None]]])
# Called with (session, inspection, findings) inside the transaction of a start / a
# submission / an approval, in list order (inspections/hooks.py); the composition root fills
# them, e.g. "start the plan task", "raise anomalies" and "complete the plan task". Empty by
# default; a start has no findings.
INSPECTION_STARTED = web.AppKey("inspection_started", list[InspectionHook])
INSPECTION_SUBMITTED = web.AppKey("inspection_submitted", list[InspectionHook])
INSPECTION_APPROVED = web.AppKey("inspection_approved", list[InspectionHook])
