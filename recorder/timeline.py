"""RTP time arithmetic: 32-bit unwrapping and NTP conversion."""

from __future__ import annotations

NTP_UNIX_OFFSET = 2_208_988_800  # seconds from 1900-01-01 (NTP era 0) to 1970-01-01
_WRAP = 1 << 32
_HALF = 1 << 31


def ntp_to_unix(ntp: int) -> float:
    """A 64-bit NTP timestamp (32.32 fixed point) as Unix seconds."""
    return (ntp >> 32) - NTP_UNIX_OFFSET + (ntp & 0xFFFFFFFF) / _WRAP


def signed_diff32(a: int, b: int) -> int:
    """``a - b`` for 32-bit RTP timestamps, taking the shorter way round the wrap."""
    diff = (a - b) % _WRAP
    return diff - _WRAP if diff >= _HALF else diff


class RtpUnwrapper:
    """Turns 32-bit RTP timestamps into a continuous count, across wraps and reordering.

    aiortc's own ``TimestampMapper`` takes any decrease for a wrap; a reordered or
    retransmitted frame would then jump the timeline by 2**32 ticks.
    """

    def __init__(self) -> None:
        self._last_raw: int | None = None
        self._last = 0

    def unwrap(self, raw: int) -> int:
        if self._last_raw is None:
            self._last = raw
        else:
            self._last += signed_diff32(raw, self._last_raw)
        self._last_raw = raw
        return self._last
