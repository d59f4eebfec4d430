"""Per-client rate limit: a token bucket per client address, in this process only.

Why per instance: the relay keeps no shared state, so it scales out behind any load balancer; with N instances
(or uvicorn workers) a client can get up to N times the limit. That is what the limit is for: stopping one
client (a loop in a page, a script) from exhausting the workspace's Track API quota through one relay, not
exact accounting. Memory is bounded: idle buckets are dropped once the table grows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateLimiter"]

#: Buckets kept before idle (full) ones are dropped.
MAX_CLIENTS = 10_000


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """``per_minute`` requests per client, bursts up to the same number; 0 turns it off."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def check(self, client: str) -> float | None:
        """Take a token for ``client``: None when allowed, else the seconds until the next token."""
        if self.capacity <= 0:
            return None
        now = self._clock()
        bucket = self._buckets.get(client)
        if bucket is None:
            if len(self._buckets) >= MAX_CLIENTS:
                self._prune(now)
            bucket = self._buckets[client] = _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self.rate

    def _prune(self, now: float) -> None:
        full_after = self.capacity / self.rate
        for key in [k for k, b in self._buckets.items() if now - b.at >= full_after]:
            del self._buckets[key]
        if len(self._buckets) >= MAX_CLIENTS:  # everyone is active: forget the oldest half
            for key in sorted(self._buckets, key=lambda k: self._buckets[k].at)[: MAX_CLIENTS // 2]:
                del self._buckets[key]
