"""The ``/call`` Socket.IO namespace: signaling for remote inspection calls.

Staff connect with their session cookie, an enterprise contact with
``auth={"invite": token, "device_id": id}``. ``join_call`` makes the socket a participant
(keyed by identity, in the database, so a reconnecting client resumes its slot on any node);
the socket then sits in ``call:{session}`` and ``participant:{id}``, and ``send_signal``
reaches the other participant through the latter wherever its socket is. Client events
always acknowledge ``{"ok": true, ...}`` or ``{"ok": false, "error": {...}}``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import socketio
from aiohttp import web
from pydantic import ValidationError
from socketio.exceptions import ConnectionRefusedError as Refused
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inspection_api.audit.service import Origin
from inspection_api.auth.principal import Principal
from inspection_api.auth.service import principal_from_session_token, session_cookie_name
from inspection_api.db import one_writer, utcnow
from inspection_api.errors import InspectionError, Unauthenticated
from inspection_api.i18n import negotiate
from inspection_api.remote import service
from inspection_api.remote.models import ParticipantKind, RemoteParticipant
from inspection_api.tokens import recorder_credential
from inspection_api.web.security import client_ip
from loancheck.settings import Settings
from signaling.errors import (
    AlreadyJoined,
    DomainRefused,
    InternalError,
    InvalidMessage,
    NotAllowed,
    NotInRoom,
    NotJoined,
    RateLimited,
    SignalingError,
    Superseded,
    UnknownEvent,
    call_ack,
    data_error,
    refusal,
)
from signaling.messages import (
    ContactAuth,
    JoinCall,
    NoFields,
    RecorderAuth,
    SendSignal,
    SetMedia,
)
from signaling.namespace import handshake_request, parse
from signaling.ratelimit import ABUSE_DROPS, BURST, RATE_PER_SECOND, SocketLimiter, Verdict
from signaling.rooms import CallRooms, Slot, call_room, participant_room

log = logging.getLogger(__name__)

NAMESPACE = "/call"


@dataclass
class Caller:
    """One connected socket: who it is, and how it is allowed to talk."""

    lang: str
    origin: Origin
    limiter: SocketLimiter
    cookie: str | None = None  # staff: re-checked at join and end, the session may be revoked
    invite: str | None = None  # contact: the link's token, and the device it came from
    device_id: str | None = None
    session_id: int | None = None  # the invite's session
    recorder: str | None = None  # a recorder worker: its name


def _required(field_name: str) -> InvalidMessage:
    return InvalidMessage([data_error(field_name, "必填", "Field required")])


class CallNamespace(socketio.AsyncNamespace):
    def __init__(
        self,
        settings: Settings,
        app: web.Application,
        sessionmaker_key: web.AppKey[async_sessionmaker[AsyncSession]],
        *,
        hold_seconds: float,
        rate: float = RATE_PER_SECOND,
        burst: int = BURST,
        abuse_drops: int = ABUSE_DROPS,
        clock: Callable[[], float] = time.monotonic,
        namespace: str = NAMESPACE,
    ) -> None:
        super().__init__(namespace)
        self._settings = settings
        self._app = app  # the database opens in cleanup_ctx, after registration
        self._sessionmaker_key = sessionmaker_key
        self._hold_seconds = hold_seconds
        self._limits = (rate, burst, abuse_drops)
        self._clock = clock
        self._recorder_credential = recorder_credential(settings.secret_key)
        self._callers: dict[str, Caller] = {}
        self._rooms = CallRooms()
        self._joining: set[str] = set()  # sockets with a join_call in flight
        # Slot hold timers, referenced until done; the server cancels them on shutdown.
        self.hold_tasks: set[asyncio.Task[None]] = set()
        self._stopped = False
        self._events: dict[str, Callable[[str, Any], Awaitable[dict[str, Any]]]] = {
            "join_call": self.on_join_call,
            "send_signal": self.on_send_signal,
            "set_media": self.on_set_media,
            "end_call": self.on_end_call,
            "leave_call": self.on_leave_call,
        }

    def _db(self) -> AsyncSession:
        return self._app[self._sessionmaker_key]()

    # ---- connection ----

    async def on_connect(self, sid: str, environ: Any, auth: Any = None) -> None:
        request = handshake_request(environ)
        if request is None:
            raise refusal("unauthenticated", "请先登录", "Authentication required", "zh")
        lang = negotiate(request.headers.get("Accept-Language"), request.query.get("lang"))
        caller = Caller(
            lang=lang,
            origin=Origin(
                ip=client_ip(request)[:64], user_agent=request.headers.get("User-Agent", "")[:300]
            ),
            limiter=SocketLimiter(*self._limits),
        )
        if isinstance(auth, dict) and "recorder" in auth:
            try:
                worker = RecorderAuth.model_validate(auth)
            except ValidationError:
                error = ("invalid_auth", "录制服务凭据有误", "Bad recorder auth", lang)
                raise refusal(*error) from None
            if not hmac.compare_digest(worker.recorder, self._recorder_credential):
                raise refusal("unauthenticated", "录制服务凭据无效", "Unknown recorder", lang)
            caller.recorder = worker.worker
        elif isinstance(auth, dict) and "invite" in auth:
            try:
                contact = ContactAuth.model_validate(auth)
            except ValidationError:
                raise refusal("invalid_auth", "邀请信息有误", "Bad invite data", lang) from None
            try:
                async with self._db() as session:
                    remote, _ = await service.resolve_invite(session, contact.invite)
            except InspectionError as exc:
                raise refusal(exc.code, exc.message("zh"), exc.message("en"), lang) from None
            caller.invite, caller.device_id = contact.invite, contact.device_id
            caller.session_id = remote.id
        else:
            caller.cookie = request.cookies.get(session_cookie_name(self._settings))
            async with self._db() as session:
                principal = await self._principal(session, caller)
                await session.commit()  # the lookup may refresh the session's last_seen_at
            if principal is None:
                raise refusal("unauthenticated", "请先登录", "Authentication required", lang)
        self._callers[sid] = caller

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        caller = self._callers.pop(sid, None)
        slot = self._rooms.release(sid)
        if slot is not None and caller is not None:
            await self._dropped(slot, caller)

    async def _principal(self, session: AsyncSession, caller: Caller) -> Principal | None:
        if not caller.cookie:
            return None
        return await principal_from_session_token(session, self._settings, caller.cookie)

    # ---- client events ----

    async def on_join_call(self, sid: str, data: Any) -> dict[str, Any]:
        """Become (or resume being) a participant; answer with the peers and ICE servers.

        Joins of one session go one at a time (the session row is locked until commit), and
        everything that orders them happens inside: the socket is bound and in its rooms,
        older connections of the participant are dropped on every node, and the members are
        read. So each member learns of each other exactly once: who committed earlier is in
        this join's ``peers`` and hears ``peer_joined`` from it; who commits later reads
        this one from the database, and is not told again."""
        message = parse(JoinCall, data)
        caller = self._caller(sid)
        if self._rooms.slot(sid) is not None or sid in self._joining:
            raise AlreadyJoined()
        self._joining.add(sid)
        try:
            slot, members = await self._enter(sid, caller, message)
        finally:
            self._joining.discard(sid)
        if not self.server.manager.is_connected(sid, self.namespace):
            if self._rooms.release(sid) is not None:  # else its disconnect already held it
                await self._leave_rooms(sid, slot)
                await self._dropped(slot, caller)  # it went away while joining: hold its slot
            raise NotJoined()
        self._rooms.learn(slot.session_id, (m.id for m in members))
        resumed = slot.generation > 1
        peers = [m for m in members if m.connected and m.id != slot.participant_id]
        for peer in peers:  # those who joined earlier; later ones read this one's row
            await self.emit(
                "peer_joined",
                {**slot.peer(), "resumed": resumed},
                room=participant_room(peer.id),
            )
        return {
            "ok": True,
            "participant_id": slot.participant_id,
            "session_id": slot.session_id,
            "kind": slot.kind,
            "polite": slot.kind != ParticipantKind.INSPECTOR,
            "resumed": resumed,
            "peers": [Slot.of(m).peer(m.media) for m in peers],
            "ice_servers": service.ice_servers(self._settings, str(slot.participant_id)),
            "recorded": True,
        }

    async def _enter(
        self, sid: str, caller: Caller, message: JoinCall
    ) -> tuple[Slot, list[RemoteParticipant]]:
        """The join's transaction, holding the session's lock: the slot, bound and in its
        rooms, and the session's participants as of this join."""
        async with self._db() as session, one_writer(session):
            participant = await self._join(session, caller, message)
            slot = Slot.of(participant)
            replaced = self._rooms.bind(sid, slot)
            if replaced is None:
                raise Superseded()
            try:
                for older in replaced:  # this node's: closed, as a replaced connection
                    await self._supersede(older)
                # Other nodes' leave the call: the participant room closes everywhere
                # (``room_closed``) before this socket enters it.
                await self.close_room(participant_room(slot.participant_id))
                await self.enter_room(sid, call_room(slot.session_id))
                await self.enter_room(sid, participant_room(slot.participant_id))
                members = await service.call_participants(session, slot.session_id)
                await session.commit()
            except BaseException:
                self._rooms.release(sid)
                await self._leave_rooms(sid, slot)
                raise
        return slot, members

    async def _leave_rooms(self, sid: str, slot: Slot) -> None:
        await self.leave_room(sid, participant_room(slot.participant_id))
        await self.leave_room(sid, call_room(slot.session_id))

    async def _supersede(self, sid: str) -> None:
        """A newer connection of the same participant joined: this socket leaves the call
        and is closed (its slot is not held: the generation moved on)."""
        slot = self._rooms.slot(sid)
        if slot is None:
            return
        await self._forget_removed(sid, slot)
        await self.disconnect(sid)

    async def room_closed(self, room: str, sids: list[str]) -> None:
        """The Redis manager closed ``room`` on this node (asked here or by another node):
        when it was a participant's room — a newer connection joined, or the participant
        was removed — the sockets that held that slot here leave the call at once, so they
        hear nothing more of it, and their next message is refused ``not_joined``."""
        for sid in sids:
            slot = self._rooms.slot(sid)
            if slot is not None and participant_room(slot.participant_id) == room:
                await self._forget_removed(sid, slot)

    async def _join(
        self, session: AsyncSession, caller: Caller, message: JoinCall
    ) -> RemoteParticipant:
        ip, agent = caller.origin.ip, caller.origin.user_agent
        try:
            if caller.recorder is not None:
                if message.session_id is None:
                    raise _required("session_id")
                return await service.join_as_recorder(
                    session, message.session_id, caller.recorder, ip
                )
            if caller.invite is not None:
                assert caller.device_id is not None
                for name, given, bound in (
                    ("session_id", message.session_id, caller.session_id),
                    ("device_id", message.device_id, caller.device_id),
                ):
                    if given not in (None, bound):
                        error = data_error(name, "与邀请链接不符", "not the invite's")
                        raise InvalidMessage([error])
                return await service.join_as_contact(
                    session, caller.invite, caller.device_id, ip, agent
                )
            if message.session_id is None:
                raise _required("session_id")
            if message.device_id is None:
                raise _required("device_id")
            principal = await self._principal(session, caller)
            if principal is None:
                raise Unauthenticated()
            return await service.join_as_staff(
                session, principal, message.session_id, message.device_id, ip, agent
            )
        except InspectionError as exc:
            raise DomainRefused(exc) from None

    async def on_send_signal(self, sid: str, data: Any) -> dict[str, Any]:
        """Relay an SDP description or ICE candidate to one participant of the same call."""
        message = parse(SendSignal, data)
        slot = await self._slot(sid)
        if message.to == slot.participant_id or not await self._in_call(slot, message.to):
            raise NotInRoom(to=message.to)
        await self.emit(
            "signal", message.relayed(slot.participant_id), room=participant_room(message.to)
        )
        return {"ok": True}

    async def on_set_media(self, sid: str, data: Any) -> dict[str, Any]:
        """Tell the others what this participant sends (microphone, camera, which camera)."""
        state = parse(SetMedia, data).model_dump()
        slot = await self._slot(sid)
        async with self._db() as session:  # for those who join later, on any node
            await service.set_media(session, slot.participant_id, state)
            await session.commit()
        await self.emit(
            "media",
            {"participant_id": slot.participant_id, **state},
            room=call_room(slot.session_id),
            skip_sid=sid,
        )
        return {"ok": True}

    async def on_end_call(self, sid: str, data: Any) -> dict[str, Any]:
        """结束通话 (inspector only): the session ends and everyone is told."""
        parse(NoFields, data)
        caller, slot = self._caller(sid), await self._slot(sid)
        if slot.kind != ParticipantKind.INSPECTOR:
            raise NotAllowed(("结束通话（仅客户经理可以结束）", "end the call (inspectors only)"))
        async with self._db() as session, one_writer(session):  # in turn with joins
            principal = await self._principal(session, caller)
            try:
                if principal is None:
                    raise Unauthenticated()
                await service.end_session(session, principal, slot.session_id, origin=caller.origin)
            except InspectionError as exc:
                raise DomainRefused(exc) from None
            await session.commit()
        await self.call_ended(slot.session_id, by=slot.participant_id)
        return {"ok": True}

    async def call_ended(self, session_id: int, by: int | None = None) -> None:
        """Tell the call that its session ended (``end_call`` here, or the REST API's
        ``POST …/end`` once wired through the notifier): ``call_ended`` to every node's
        sockets, the room closed; sockets here stop being participants (their slots are
        already closed in the database, so their later disconnects change nothing)."""
        room = call_room(session_id)
        await self.emit(
            "call_ended", {"session_id": session_id, "by": by, "reason": "ended"}, room=room
        )
        for sid in self._rooms.sids_in(session_id):
            held = self._rooms.release(sid)
            if held is not None:
                await self.leave_room(sid, participant_room(held.participant_id))
        await self.close_room(room)

    async def participant_removed(self, session_id: int, participant_id: int, reason: str) -> None:
        """A participant was removed outside the call (its invite revoked; the slot is closed
        in the database): it hears ``removed`` and the others ``peer_left``. Its participant
        room closes on every node — no signal reaches it any more, and a node still holding
        its socket refuses that socket's next message (``_slot``) — and sockets here go."""
        await self.emit(
            "removed",
            {"session_id": session_id, "reason": reason},
            room=participant_room(participant_id),
        )
        await self.emit(
            "peer_left",
            {"participant_id": participant_id, "reason": "removed"},
            room=call_room(session_id),
        )
        here = [
            (sid, slot)
            for sid in self._rooms.sids_in(session_id)
            if (slot := self._rooms.slot(sid)) is not None and slot.participant_id == participant_id
        ]
        await self.close_room(participant_room(participant_id))
        for sid, slot in here:
            await self._forget_removed(sid, slot)
            await self.disconnect(sid)

    async def _forget_removed(self, sid: str, slot: Slot) -> None:
        """A removed (or replaced) participant's socket holds no slot and hears nothing of
        the call."""
        self._rooms.release(sid)
        await self._leave_rooms(sid, slot)

    async def on_leave_call(self, sid: str, data: Any) -> dict[str, Any]:
        """Hang up: the slot is freed at once (no hold) and the others hear ``peer_left``."""
        parse(NoFields, data)
        caller, slot = self._caller(sid), await self._slot(sid)
        async with self._db() as session:
            left = await service.leave(
                session,
                slot.participant_id,
                slot.generation,
                caller.origin.ip,
                caller.origin.user_agent,
            )
            await session.commit()
        self._rooms.release(sid)
        await self.leave_room(sid, participant_room(slot.participant_id))
        await self.leave_room(sid, call_room(slot.session_id))
        if left:
            await self._peer_left(slot, "left")
        return {"ok": True}

    # ---- slots ----

    async def _dropped(self, slot: Slot, caller: Caller) -> None:
        """The socket of ``slot`` is gone: hold the slot and start its timer."""
        try:
            async with self._db() as session:
                held = await service.mark_disconnected(
                    session,
                    slot.participant_id,
                    slot.generation,
                    caller.origin.ip,
                    caller.origin.user_agent,
                )
                await session.commit()
            if not held:  # a newer connection took over, or the participant left
                return
            await self.emit(
                "peer_reconnecting",
                {"participant_id": slot.participant_id},
                room=call_room(slot.session_id),
            )
        except Exception:
            log.exception("holding the slot of participant %d failed", slot.participant_id)
            return
        if self._stopped:  # a socket that closed during shutdown: its slot stays held
            return
        task = asyncio.create_task(self._hold(slot), name=f"call-hold-{slot.participant_id}")
        self.hold_tasks.add(task)
        task.add_done_callback(self.hold_tasks.discard)

    async def _hold(self, slot: Slot) -> None:
        await asyncio.sleep(self._hold_seconds)
        try:
            async with self._db() as session:
                expired = await service.expire_slot(session, slot.participant_id, slot.generation)
                await session.commit()
            if expired:  # nobody rejoined on any node
                await self._peer_left(slot, "timeout")
        except Exception:
            log.exception("expiring the slot of participant %d failed", slot.participant_id)

    async def expire_orphaned_holds(self) -> int:
        """Free the slots whose hold timer was lost with its node (a deploy stopped it, or
        it died): held for twice the hold time, they time out here like on their own node,
        and the room hears ``peer_left`` ``timeout``. Every node sweeps; the conditional
        update lets one of them act on each slot. Returns how many this node freed."""
        held_before = utcnow() - timedelta(seconds=2 * self._hold_seconds)
        async with self._db() as session:
            orphans = [Slot.of(p) for p in await service.orphaned_holds(session, held_before)]
        freed = 0
        for slot in orphans:
            async with self._db() as session:
                expired = await service.expire_slot(session, slot.participant_id, slot.generation)
                await session.commit()
            if expired:
                freed += 1
                await self._peer_left(slot, "timeout")
        return freed

    async def stop(self) -> None:
        """Cancel the hold timers (on shutdown); their slots stay held in the database
        (another node's ``expire_orphaned_holds`` frees them if nobody comes back)."""
        self._stopped = True
        tasks = list(self.hold_tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _peer_left(self, slot: Slot, reason: str) -> None:
        await self.emit(
            "peer_left",
            {"participant_id": slot.participant_id, "reason": reason},
            room=call_room(slot.session_id),
        )

    async def _in_call(self, slot: Slot, participant_id: int) -> bool:
        if self._rooms.knows(slot.session_id, participant_id):
            return True
        async with self._db() as session:  # someone who joined on another node, maybe
            members = await service.call_participants(session, slot.session_id)
        self._rooms.learn(slot.session_id, (m.id for m in members))
        return self._rooms.knows(slot.session_id, participant_id)

    def _caller(self, sid: str) -> Caller:
        caller = self._callers.get(sid)
        if caller is None:
            raise NotJoined()
        return caller

    async def _slot(self, sid: str) -> Slot:
        slot = self._rooms.slot(sid)
        if slot is None:
            raise NotJoined()
        if not self._in_room(sid, participant_room(slot.participant_id)):
            # Its room was closed from another node (participant_removed): removed.
            await self._forget_removed(sid, slot)
            raise NotJoined()
        return slot

    def _in_room(self, sid: str, room: str) -> bool:
        # The manager's own get_rooms(sid) scans every room of the namespace, per message:
        # with thousands of clients that is thousands of lookups on the relay's path.
        members = self.server.manager.rooms.get(self.namespace, {}).get(room)
        return members is not None and sid in members

    # ---- dispatch ----

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """Route client events so that every one of them is rate-limited and acknowledged."""
        if event == "connect":
            if len(args) >= 2 and handshake_request(args[1]) is not None:
                return await self._connect(*args)
            return call_ack(UnknownEvent(event=event), "zh")
        if event == "disconnect" and not self.server.manager.is_connected(args[0], self.namespace):
            try:
                await self.on_disconnect(*args)
            except Exception:
                log.exception("call disconnect handling failed")
            return None
        # A client may emit reserved names too ("disconnect" from a connected socket is one).
        sid, *payload = args
        caller = self._callers.get(sid)
        if caller is None:  # closed meanwhile (e.g. for flooding)
            return call_ack(NotJoined(), "zh")
        lang = caller.lang
        verdict = caller.limiter.admit(self._clock())
        if verdict is not Verdict.ACCEPT:
            return await self._drop(sid, caller, verdict)
        handler = self._events.get(event) if isinstance(event, str) else None
        if handler is None:
            return call_ack(UnknownEvent(event=str(event)[:64]), lang)
        if len(payload) > 1:
            return call_ack(InvalidMessage.extra_arguments(), lang)
        try:
            return await handler(sid, payload[0] if payload else None)
        except SignalingError as exc:
            return call_ack(exc, lang)
        except Exception:
            log.exception("call event %s failed", event)
            return call_ack(InternalError(), lang)

    async def _drop(self, sid: str, caller: Caller, verdict: Verdict) -> dict[str, Any]:
        limited = RateLimited(rate=int(self._limits[0]))
        if caller.limiter.should_report():
            await self.emit("error", call_ack(limited, caller.lang)["error"], to=sid)
        if verdict is Verdict.DISCONNECT:
            log.warning("closing call socket %s: sustained message flood", sid)
            eio_sid = self.server.manager.eio_sid_from_sid(sid, self.namespace)
            await self.disconnect(sid)
            if eio_sid is not None:
                await self.server.eio.disconnect(eio_sid)
        return call_ack(limited, caller.lang)

    async def _connect(self, sid: str, environ: Any, auth: Any = None) -> None:
        try:
            await self.on_connect(sid, environ, auth)
        except Refused:
            raise
        except Exception:
            log.exception("call handshake failed")
            error = InternalError()
            raise refusal(error.code, error.message("zh"), error.message("en"), "zh") from None
