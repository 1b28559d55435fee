"""The ``/console`` Socket.IO namespace: authenticated bank users receive pushes here.

A browser connects with its session cookie (the handshake carries it); the socket joins
``user:{id}``, ``session:{id}`` and ``org:{id}`` so pushes can address a person, one login or
an organisation. Client events are ``verb_noun`` and always acknowledge: ``{"ok": true, ...}``
or ``{"ok": false, "error": {...}}``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import socketio
from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError
from socketio.exceptions import ConnectionRefusedError as Refused
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inspection_api.auth.principal import Principal
from inspection_api.auth.service import (
    live_session_ids,
    principal_from_session_token,
    session_cookie_name,
)
from inspection_api.i18n import field_errors, negotiate
from loancheck.settings import Settings
from signaling.errors import (
    InternalError,
    InvalidMessage,
    SignalingError,
    UnknownEvent,
    refusal,
)

log = logging.getLogger(__name__)

NAMESPACE = "/console"

# Handlers see the socket session under these keys.
PRINCIPAL = "principal"
LANG = "lang"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def session_room(session_id: int) -> str:
    return f"session:{session_id}"


def org_room(org_id: int) -> str:
    return f"org:{org_id}"


def rooms_of(principal: Principal) -> list[str]:
    rooms = [user_room(principal.user_id), org_room(principal.org_id)]
    if principal.session_id is not None:
        rooms.append(session_room(principal.session_id))
    return rooms


class PingServer(BaseModel):
    """``ping_server``: no fields; lets a console check that acks get through."""

    model_config = ConfigDict(extra="forbid")


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any) -> M:
    """Validate an event payload (absent = empty object) or raise ``InvalidMessage``."""
    try:
        return model.model_validate({} if data is None else data)
    except ValidationError as exc:
        raise InvalidMessage(field_errors(exc, "data")) from None


def handshake_request(environ: Any) -> web.Request | None:
    """The aiohttp request of a real handshake (a client can also *emit* "connect")."""
    if isinstance(environ, dict):
        request = environ.get("aiohttp.request")
        if isinstance(request, web.Request):
            return request
    return None


class ConsoleNamespace(socketio.AsyncNamespace):
    def __init__(
        self,
        settings: Settings,
        sessionmaker_key: web.AppKey[async_sessionmaker[AsyncSession]],
        namespace: str = NAMESPACE,
    ) -> None:
        super().__init__(namespace)
        self._settings = settings
        # Looked up per handshake: the database is opened in the app's cleanup_ctx, after
        # the namespace is registered.
        self._sessionmaker_key = sessionmaker_key

    async def on_connect(self, sid: str, environ: Any, auth: Any = None) -> None:
        request = handshake_request(environ)
        if request is None:
            raise refusal("unauthenticated", "请先登录", "Authentication required", "zh")
        lang = negotiate(request.headers.get("Accept-Language"), request.query.get("lang"))
        token = request.cookies.get(session_cookie_name(self._settings))
        principal = None
        if token:
            async with request.app[self._sessionmaker_key]() as session:
                principal = await principal_from_session_token(session, self._settings, token)
                await session.commit()  # the lookup may refresh the session's last_seen_at
        if principal is None:
            raise refusal("unauthenticated", "请先登录", "Authentication required", lang)
        await self.save_session(sid, {PRINCIPAL: principal, LANG: lang})
        for room in rooms_of(principal):
            await self.enter_room(sid, room)

    async def sweep(self, app: web.Application) -> int:
        """Close this node's sockets whose session is no longer live (revoked on another
        node, idle or expired); return how many were closed."""
        by_session: dict[int, list[str]] = {}
        for sid, _ in self.server.manager.get_participants(self.namespace, None):
            try:
                principal: Principal = (await self.get_session(sid))[PRINCIPAL]
            except KeyError:
                continue  # still in its handshake
            if principal.session_id is not None:
                by_session.setdefault(principal.session_id, []).append(sid)
        if not by_session:
            return 0
        async with app[self._sessionmaker_key]() as session:
            live = await live_session_ids(session, self._settings, by_session)
        stale = [sid for sess, sids in by_session.items() if sess not in live for sid in sids]
        for sid in stale:
            await self.emit("session_revoked", {"reason": "expired"}, to=sid)
            await self.disconnect(sid)
        return len(stale)

    async def on_ping_server(self, sid: str, data: Any = None) -> dict[str, Any]:
        parse(PingServer, data)
        return {"ok": True, "at": datetime.now(UTC).isoformat()}

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """Route client events so that every one of them acknowledges, even on error."""
        if event == "connect":
            if len(args) >= 2 and handshake_request(args[1]) is not None:
                return await self._connect(*args)
            return UnknownEvent(event=event).ack("zh")
        if event == "disconnect":
            return None
        sid, *payload = args
        lang = await self._lang(sid)
        handler = self._client_handler(event)
        if handler is None:
            return UnknownEvent(event=str(event)[:64]).ack(lang)
        if len(payload) > 1:
            return InvalidMessage.extra_arguments().ack(lang)
        try:
            return await handler(sid, *payload)
        except SignalingError as exc:
            return exc.ack(lang)
        except Exception:
            log.exception("console event %s failed", event)
            return InternalError().ack(lang)

    async def _connect(self, sid: str, environ: Any, auth: Any = None) -> None:
        try:
            await self.on_connect(sid, environ, auth)
        except Refused:
            raise
        except Exception:
            # A refusal the client can read beats a handshake that hangs.
            log.exception("console handshake failed")
            failed = InternalError()
            raise refusal(failed.code, failed.message("zh"), failed.message("en"), "zh") from None

    def _client_handler(self, event: str) -> Callable[..., Awaitable[Any]] | None:
        if not isinstance(event, str) or not event.isidentifier():
            return None
        handler = getattr(self, f"on_{event}", None)
        return handler if callable(handler) else None

    async def _lang(self, sid: str) -> str:
        try:
            session = await self.get_session(sid)
        except KeyError:
            return "zh"
        return str(session.get(LANG, "zh"))
