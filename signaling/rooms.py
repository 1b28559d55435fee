"""What one node knows about the calls its sockets are in. Pure bookkeeping, no IO.

The database is the truth about who is in a call (every node reads it); this is the node's
own part: which participant slot each local socket holds, and a cache of the participant ids
of each session its sockets are in (to check a signal's ``to`` without a query per message).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


def call_room(session_id: int) -> str:
    """Every socket in the call of remote session ``session_id``."""
    return f"call:{session_id}"


def participant_room(participant_id: int) -> str:
    """The socket(s) of one participant, on whichever node holds them."""
    return f"participant:{participant_id}"


@dataclass(frozen=True)
class Slot:
    """A socket's place in a call: the participant and the generation of this connection
    (the hold timer and ``leave`` only act on the generation they saw)."""

    participant_id: int
    generation: int
    session_id: int
    kind: str  # inspector | contact | recorder
    display_name: str

    @classmethod
    def of(cls, participant: Any) -> Slot:
        """The slot of a participant row (``RemoteParticipant``)."""
        return cls(
            participant.id,
            participant.generation,
            participant.session_id,
            str(participant.kind.value),
            participant.display_name,
        )

    def peer(self, media: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "participant_id": self.participant_id,
            "kind": self.kind,
            "display_name": self.display_name,
            "media": media,
        }


class CallRooms:
    def __init__(self) -> None:
        self._slots: dict[str, Slot] = {}
        self._sids_of: dict[int, set[str]] = {}  # participant id -> local sockets
        self._sids_in: dict[int, set[str]] = {}  # session id -> local sockets
        self._members: dict[int, set[int]] = {}  # session id -> known participant ids

    def __len__(self) -> int:
        return len(self._slots)

    def slot(self, sid: str) -> Slot | None:
        return self._slots.get(sid)

    def bind(self, sid: str, slot: Slot) -> list[str] | None:
        """Give ``sid`` its slot; return the other local sockets of the same participant
        (an older connection the client replaced, e.g. after a network switch). None, and
        nothing changes, when a socket here holds a newer generation of that participant:
        a late bind of an older join never replaces the newer connection."""
        others = self._sids_of.get(slot.participant_id, set()) - {sid}
        if any(self._slots[other].generation > slot.generation for other in others):
            return None
        self.release(sid)
        self._slots[sid] = slot
        self._sids_of.setdefault(slot.participant_id, set()).add(sid)
        self._sids_in.setdefault(slot.session_id, set()).add(sid)
        self._members.setdefault(slot.session_id, set()).add(slot.participant_id)
        return sorted(others)

    def release(self, sid: str) -> Slot | None:
        """Forget the socket's slot; forget the session once no local socket is in it."""
        slot = self._slots.pop(sid, None)
        if slot is None:
            return None
        _discard(self._sids_of, slot.participant_id, sid)
        if _discard(self._sids_in, slot.session_id, sid):
            self._members.pop(slot.session_id, None)
        return slot

    def sids_in(self, session_id: int) -> list[str]:
        return sorted(self._sids_in.get(session_id, ()))

    def learn(self, session_id: int, participant_ids: Iterable[int]) -> None:
        """Record participants read from the database (only for sessions held here)."""
        if session_id in self._members:
            self._members[session_id].update(participant_ids)

    def knows(self, session_id: int, participant_id: int) -> bool:
        return participant_id in self._members.get(session_id, ())


def _discard(index: dict[int, set[str]], key: int, sid: str) -> bool:
    """Remove ``sid`` under ``key``; true when that emptied the entry."""
    sids = index.get(key)
    if sids is None:
        return False
    sids.discard(sid)
    if sids:
        return False
    del index[key]
    return True
