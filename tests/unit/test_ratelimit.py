"""The per-socket token bucket (50/s, burst 100) and the flood cut-off, without IO."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signaling.ratelimit import ABUSE_DROPS, BURST, RATE_PER_SECOND, SocketLimiter, TokenBucket
from signaling.ratelimit import Verdict as V


def test_the_defaults_are_the_documented_limits():
    assert (RATE_PER_SECOND, BURST, ABUSE_DROPS) == (50.0, 100, 500)


def test_a_burst_of_100_passes_then_50_per_second():
    bucket = TokenBucket(50, 100)
    assert sum(bucket.take(0.0) for _ in range(150)) == 100
    assert not bucket.take(0.0)
    assert sum(bucket.take(1.0) for _ in range(100)) == 50  # one second refills 50
    assert sum(bucket.take(1.02) for _ in range(5)) == 1  # 20 ms refills one


def test_idle_time_refills_only_up_to_the_burst():
    bucket = TokenBucket(50, 100)
    for _ in range(100):
        bucket.take(0.0)
    assert sum(bucket.take(3600.0) for _ in range(1000)) == 100


def test_a_clock_going_backwards_refills_nothing():
    bucket = TokenBucket(50, 100)
    for _ in range(100):
        bucket.take(10.0)
    assert not bucket.take(5.0)
    assert not bucket.take(10.0)


@pytest.mark.parametrize(("rate", "burst"), [(0, 10), (-1, 10), (5, 0)])
def test_nonsense_limits_are_refused(rate, burst):
    with pytest.raises(ValueError, match="rate must be positive"):
        TokenBucket(rate, burst)


@given(
    gaps=st.lists(st.floats(min_value=0, max_value=0.2, allow_nan=False), max_size=400),
)
def test_never_more_than_burst_plus_rate_times_elapsed(gaps):
    """Whatever the sending pattern, what passes in [0, t] is at most burst + rate·t."""
    bucket = TokenBucket(RATE_PER_SECOND, BURST)
    now, passed = 0.0, 0
    for gap in gaps:
        now += gap
        passed += bucket.take(now)
        assert passed <= BURST + RATE_PER_SECOND * now + 1e-6


@given(st.integers(min_value=1, max_value=50))
def test_a_client_within_the_rate_is_never_dropped(per_second):
    limiter = SocketLimiter()
    verdicts = {limiter.admit(i / per_second) for i in range(per_second * 20)}
    assert verdicts == {V.ACCEPT}


def test_a_flood_is_dropped_then_cut_off_at_500_drops():
    limiter = SocketLimiter()
    verdicts = [limiter.admit(0.0) for _ in range(600)]
    assert verdicts[:100] == [V.ACCEPT] * 100
    assert verdicts[100:599] == [V.DROP] * 499
    assert verdicts[599] is V.DISCONNECT


def test_the_error_event_is_due_once_per_flood():
    limiter = SocketLimiter(abuse_drops=10_000)
    for _ in range(101):
        limiter.admit(0.0)
    assert limiter.should_report() is True
    limiter.admit(0.0)
    assert limiter.should_report() is False
    limiter.admit(2.0)  # quiet long enough for the bucket to fill: a new episode
    for _ in range(100):
        limiter.admit(2.0)
    assert limiter.should_report() is True


def test_drops_are_forgiven_once_the_sender_calms_down():
    limiter = SocketLimiter()
    for _ in range(100 + 400):
        limiter.admit(0.0)
    assert limiter.drops == 400
    assert limiter.admit(2.0) is V.ACCEPT  # bucket full again after 2 s
    assert limiter.drops == 0
    verdicts = [limiter.admit(2.0) for _ in range(500)]
    assert V.DISCONNECT not in verdicts


def test_a_steady_overload_is_cut_off_even_though_some_messages_pass():
    """Sending 200/s: a quarter passes, the rest are drops that accumulate."""
    limiter = SocketLimiter()
    verdicts = [limiter.admit(i / 200) for i in range(2000)]
    assert V.DISCONNECT in verdicts
    cut = verdicts.index(V.DISCONNECT)
    assert verdicts[:cut].count(V.DROP) == ABUSE_DROPS - 1
