"""Small measuring helpers: bounded latency samples and event rates."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class LatencyRecorder:
    """Keeps the most recent samples (seconds) so percentiles describe the present."""

    size: int = 2048
    count: int = 0
    _samples: deque[float] = field(default_factory=deque, repr=False)

    def add(self, seconds: float) -> None:
        self.count += 1
        self._samples.append(seconds)
        if len(self._samples) > self.size:
            self._samples.popleft()

    def percentile(self, q: float) -> float | None:
        if not self._samples:
            return None
        ordered = sorted(self._samples)
        idx = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
        return ordered[idx]

    def summary_ms(self) -> dict[str, float | int | None]:
        def ms(v: float | None) -> float | None:
            return None if v is None else round(v * 1000, 3)

        return {
            "count": self.count,
            "p50": ms(self.percentile(50)),
            "p95": ms(self.percentile(95)),
            "p99": ms(self.percentile(99)),
        }

    def clear(self) -> None:
        self._samples.clear()
        self.count = 0


@dataclass
class RateMeter:
    """Events per second over a sliding window."""

    window: float = 2.0
    _times: deque[float] = field(default_factory=deque, repr=False)

    def tick(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._times.append(now)
        self._trim(now)

    def rate(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        self._trim(now)
        if len(self._times) < 2:
            return 0.0
        span = max(self._times[-1] - self._times[0], 1e-6)
        return round((len(self._times) - 1) / span, 2)

    def _trim(self, now: float) -> None:
        while self._times and now - self._times[0] > self.window:
            self._times.popleft()
