"""Token buckets, one per client key (a user name, or an address for anonymous requests).

A bucket holds up to ``burst`` tokens and refills at ``rate`` tokens a second; a request
takes one. An empty bucket answers how many whole seconds to wait (``Retry-After``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from .limits import MAX_BURST, MAX_RATE, MIN_RATE, within

_PRUNE_AT = 10_000


class RateLimiter:
    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        within("rate", rate, MIN_RATE, MAX_RATE)
        within("burst", burst, 1, MAX_BURST, whole=True)
        self.rate = float(rate)
        self.burst = int(burst)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, time)

    def take(self, key: str) -> int:
        """Take a token for ``key``: 0 when granted, else the seconds to wait (>= 1)."""
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > _PRUNE_AT:
                    self._prune(now)
                return 0
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate))

    def _prune(self, now: float) -> None:
        """Forget buckets that have refilled: they are the same as a new one."""
        full = [
            key
            for key, (tokens, then) in self._buckets.items()
            if tokens + (now - then) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]


__all__ = ["RateLimiter"]
