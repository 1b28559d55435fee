"""CallRecording: every participant's legs of one call, one ``RecorderPeer`` per leg.

A leg is one peer connection from a participant to the recorder. aiortc has no ICE restart
and no SDP rollback, so the recorder only ever answers, and every offer it can answer starts
a new leg (a new peer connection, a new directory, new segments): a participant whose
network changed, whose page reloaded, or who meets a recorder that took the call over
simply offers again. Leg directories are named by start time, so that sorting their names
orders them, also across recorder processes (``leg-20261129T021530123456Z-1a2b``).

Signaling is the caller's: it hands offers and ICE candidates in and sends answers out.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiortc import RTCConfiguration, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

from recorder.errors import RecorderError
from recorder.manifest import Manifest
from recorder.peer import RecorderPeer
from recorder.sink import RecorderSettings

logger = logging.getLogger(__name__)

PARTICIPANT_DIR = "participant-{}"


class SignalRejected(RecorderError):
    """An offer or candidate the recorder cannot use; the text says why."""


def leg_name(now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return f"leg-{stamp}-{secrets.token_hex(2)}"


@dataclass
class Leg:
    participant: int
    directory: Path
    peer: RecorderPeer
    # Candidates that came before the offer was applied (trickle ICE races the offer).
    early: list[dict[str, Any] | None] = field(default_factory=list)
    answered: bool = False


class CallRecording:
    """Records one call: ``offer``/``candidate`` from participants, ``close`` at the end."""

    def __init__(
        self,
        directory: Path,
        *,
        settings: RecorderSettings | None = None,
        configuration: Callable[[], RTCConfiguration] | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.settings = settings
        # Asked for each leg: TURN credentials expire, a leg made an hour later needs new ones.
        self.configuration = configuration or RTCConfiguration
        self.live: dict[int, Leg] = {}
        self.pending: dict[int, Leg] = {}  # a leg whose offer is being answered
        self.finished: dict[int, list[Path]] = defaultdict(list)
        self._lock = asyncio.Lock()  # offers and hang-ups one at a time: legs never overlap

    async def offer(self, participant: int, description: dict[str, Any]) -> dict[str, str]:
        """Start a new leg for ``participant`` and answer; its previous leg ends only once
        the new one is answered, so an offer that cannot be used (``SignalRejected``)
        leaves the leg that records untouched."""
        if description.get("type") != "offer" or not isinstance(description.get("sdp"), str):
            raise SignalRejected("the recorder only takes offers: {type: offer, sdp}")
        async with self._lock:
            directory = self.directory / PARTICIPANT_DIR.format(participant) / leg_name()
            peer = RecorderPeer(
                directory,
                participant=str(participant),
                settings=self.settings,
                configuration=self.configuration(),
            )
            leg = Leg(participant, directory, peer)
            self.pending[participant] = leg
            try:
                answer = await peer.answer(
                    RTCSessionDescription(sdp=description["sdp"], type="offer")
                )
            except Exception as exc:
                await self._discard(leg)
                raise SignalRejected(f"the offer could not be answered: {exc}") from exc
            finally:
                del self.pending[participant]
            await self._end(participant)
            self.live[participant] = leg
            leg.answered = True
            for early in leg.early:
                await self._add_candidate(leg, early)
            leg.early.clear()
        return {"type": answer.type, "sdp": answer.sdp}

    async def candidate(self, participant: int, candidate: dict[str, Any] | None) -> None:
        """A trickled ICE candidate for the participant's current leg (None: no more)."""
        leg = self.pending.get(participant) or self.live.get(participant)
        if leg is None:
            return  # a late candidate of a leg that ended
        if not leg.answered:
            leg.early.append(candidate)
            return
        await self._add_candidate(leg, candidate)

    async def _add_candidate(self, leg: Leg, candidate: dict[str, Any] | None) -> None:
        if not candidate or not candidate.get("candidate"):
            # End of candidates: from then on ICE may report failure instead of waiting.
            await leg.peer.connection.addIceCandidate(None)
            return
        text = str(candidate["candidate"])
        try:
            parsed = candidate_from_sdp(text.split(":", 1)[1] if ":" in text else text)
        except (ValueError, IndexError) as exc:
            raise SignalRejected(f"unreadable ICE candidate: {text[:80]}") from exc
        parsed.sdpMid = candidate.get("sdpMid")
        parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
        await leg.peer.connection.addIceCandidate(parsed)

    async def hang_up(self, participant: int) -> None:
        """The participant left the call: its leg ends (a later offer starts a new one)."""
        async with self._lock:
            await self._end(participant)

    async def _end(self, participant: int) -> None:
        leg = self.live.pop(participant, None)
        if leg is None:
            return
        try:
            await leg.peer.close()
        except Exception:
            logger.exception("closing the leg of participant %s failed", participant)
        self.finished[participant].append(leg.directory)

    async def _discard(self, leg: Leg) -> None:
        """A leg whose offer could not be answered: nothing of it is kept."""
        try:
            await leg.peer.close()
        except Exception:
            logger.exception("closing a refused leg of participant %s failed", leg.participant)
        await asyncio.to_thread(shutil.rmtree, leg.directory, ignore_errors=True)

    async def close(self) -> dict[int, list[Path]]:
        """End every leg; every participant's leg directories, oldest first."""
        async with self._lock:
            for participant in list(self.live):
                await self._end(participant)
        return {p: sorted(dirs, key=lambda d: d.name) for p, dirs in self.finished.items()}

    def legs(self) -> list[Path]:
        """Every leg directory of this call, live or finished."""
        finished = [d for dirs in self.finished.values() for d in dirs]
        return [*(leg.directory for leg in self.live.values()), *finished]


def read_manifest(directory: Path) -> Manifest | None:
    """The leg's manifest, or None before its first segment opened."""
    try:
        return Manifest.read(directory)
    except FileNotFoundError:
        return None
