"""Token buckets per client address, in a bounded table.

The table holds at most ``max_keys`` addresses, least recently seen evicted first: a
flood from many addresses costs bounded memory, and an evicted address starts again
with a full bucket, which is what it would have after a quiet while anyway.
"""

from __future__ import annotations

from collections import OrderedDict


class RateLimiter:
    def __init__(self, burst: int, rate: float, max_keys: int = 10_000) -> None:
        self.burst = float(burst)
        self.rate = rate
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at
        self.refused = 0

    def take(self, key: str, now: float) -> float:
        """0 when allowed (and counted); else the seconds until the next request would be."""
        tokens, at = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self._store(key, tokens - 1.0, now)
            return 0.0
        self._store(key, tokens, now)
        self.refused += 1
        return (1.0 - tokens) / self.rate

    def _store(self, key: str, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)


class Lockout:
    """Wrong passwords per (user, address): past ``failures`` in a row, locked for a while.

    Keyed by user and address, not by user alone, so someone guessing from afar cannot
    lock the owner out from home.
    """

    def __init__(self, failures: int, seconds: float, max_keys: int = 10_000) -> None:
        self.failures = failures
        self.seconds = seconds
        self.max_keys = max_keys
        self._state: OrderedDict[str, tuple[int, float]] = OrderedDict()  # count, locked until

    def locked_for(self, key: str, now: float) -> float:
        count, until = self._state.get(key, (0, 0.0))
        return max(0.0, until - now) if count >= self.failures else 0.0

    def failed(self, key: str, now: float) -> None:
        count, until = self._state.pop(key, (0, 0.0))
        if count >= self.failures and until <= now:
            count = 0  # the lock-out is over: a fresh count
        count += 1
        until = now + self.seconds if count >= self.failures else 0.0
        self._state[key] = (count, until)
        while len(self._state) > self.max_keys:
            self._state.popitem(last=False)

    def succeeded(self, key: str) -> None:
        self._state.pop(key, None)
