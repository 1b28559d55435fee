"""Pushes from the platform to connected consoles.

Services never import Socket.IO: the composition root hands this notifier to the web layer
(``app[NOTIFIER]``). Emits go through the server's client manager, so with Redis configured a
push made on one node reaches sockets held by any node.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import socketio

from signaling.call import CallNamespace
from signaling.namespace import NAMESPACE, session_room, user_room

log = logging.getLogger(__name__)


class Notifier:
    """Implements ``inspection_api.web.keys.Notifier`` over Socket.IO."""

    def __init__(
        self, sio: socketio.AsyncServer, call: CallNamespace, namespace: str = NAMESPACE
    ) -> None:
        self._sio = sio
        self._call = call
        self._namespace = namespace

    async def call_ended(self, session_id: int) -> None:
        """A remote-inspection session was ended outside the call (REST 结束通话)."""
        await self._call.call_ended(session_id)

    async def participant_removed(self, session_id: int, participant_id: int, reason: str) -> None:
        """A participant was removed outside the call (``invite_revoked``)."""
        await self._call.participant_removed(session_id, participant_id, reason)

    async def sessions_revoked(self, session_ids: Iterable[int], reason: str = "revoked") -> None:
        """Tell the consoles of ended sessions, then drop those held by this process.

        ``reason`` is ``revoked`` (password changed, reset or user deactivated) or
        ``logged_out``; the login page explains it to the user.
        """
        for session_id in session_ids:
            room = session_room(session_id)
            await self._sio.emit(
                "session_revoked", {"reason": reason}, room=room, namespace=self._namespace
            )
            await self._disconnect_local(room)

    async def to_user(self, user_id: int, event: str, data: Any) -> None:
        """Push ``event`` (``verb_noun``) to every console the user has open."""
        await self._sio.emit(event, data, room=user_room(user_id), namespace=self._namespace)

    async def _disconnect_local(self, room: str) -> None:
        # A revoked session must stop receiving pushes even if its page ignores the event.
        # The manager only knows this process's participants; other nodes' sockets are told
        # through the emit above and leave on their own (see README: open point).
        participants = [sid for sid, _ in self._sio.manager.get_participants(self._namespace, room)]
        for sid in participants:
            await self._sio.disconnect(sid, namespace=self._namespace, ignore_queue=True)
        if participants:
            log.info("closed %d console socket(s) of %s", len(participants), room)
