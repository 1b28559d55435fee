"""Per-socket message rate: a token bucket, and the point where a flood ends the connection.

Pure: the caller passes the time (``time.monotonic()`` in the server, any number in tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

RATE_PER_SECOND = 50.0
BURST = 100
# Dropped messages before the socket is closed, counted until the bucket refills to full
# (the sender went quiet for BURST / RATE seconds).
ABUSE_DROPS = 500


@dataclass
class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved; each message takes one."""

    rate: float
    burst: int
    tokens: float = field(init=False)
    updated: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.tokens = float(self.burst)

    def _refill(self, now: float) -> None:
        if self.updated is not None and now > self.updated:
            self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        if self.updated is None or now > self.updated:
            self.updated = now

    def take(self, now: float) -> bool:
        """Spend one token if there is one."""
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def full(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.burst


class Verdict(Enum):
    ACCEPT = "accept"
    DROP = "drop"  # answer rate_limited, do nothing else
    DISCONNECT = "disconnect"  # sustained abuse: close the socket


@dataclass
class SocketLimiter:
    """The bucket of one socket plus its count of drops in the current flood."""

    rate: float = RATE_PER_SECOND
    burst: int = BURST
    abuse_drops: int = ABUSE_DROPS
    bucket: TokenBucket = field(init=False)
    drops: int = field(default=0, init=False)
    # Drops reported since the last ``error`` event: the socket is told once per flood
    # episode, not once per message (that would answer a flood with a flood).
    unreported: bool = field(default=True, init=False)

    def __post_init__(self) -> None:
        self.bucket = TokenBucket(self.rate, self.burst)

    def admit(self, now: float) -> Verdict:
        if self.bucket.full(now):
            self.drops = 0
            self.unreported = True
        if self.bucket.take(now):
            return Verdict.ACCEPT
        self.drops += 1
        return Verdict.DISCONNECT if self.drops >= self.abuse_drops else Verdict.DROP

    def should_report(self) -> bool:
        """True once per flood episode: time to emit an ``error`` event."""
        report, self.unreported = self.unreported, False
        return report
