"""The per-client token bucket, on a clock the test controls (the HTTP behaviour is in test_forwarding)."""

from __future__ import annotations

from cio_browser.relay import ratelimit
from cio_browser.relay.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_burst_up_to_the_limit_then_one_token_per_interval():
    clock = Clock()
    limiter = RateLimiter(60, clock)  # one per second, bursts of 60
    assert all(limiter.check("a") is None for _ in range(60))
    wait = limiter.check("a")
    assert wait is not None and 0.99 <= wait <= 1.0
    assert limiter.check("b") is None  # per client
    clock.t += 1.0
    assert limiter.check("a") is None and limiter.check("a") is not None


def test_zero_turns_it_off():
    limiter = RateLimiter(0, Clock())
    assert all(limiter.check("a") is None for _ in range(10_000))


def test_the_table_of_clients_stays_bounded(monkeypatch):
    monkeypatch.setattr(ratelimit, "MAX_CLIENTS", 100)
    clock = Clock()
    limiter = RateLimiter(60, clock)
    for i in range(1000):
        limiter.check(f"client-{i}")
        clock.t += 0.001
    assert len(limiter._buckets) <= 100
    clock.t += 120  # everyone idle and full again: all are dropped on the next new client
    limiter.check("late")
    assert len(limiter._buckets) == 1
