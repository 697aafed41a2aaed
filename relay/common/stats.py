"""Small measuring helpers: bounded latency samples and event rates."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

# Histogram bucket bounds (seconds) for Prometheus: from a small frame's decode to a
# board's stalled control request.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass
class LatencyRecorder:
    """Keeps the most recent samples (seconds) so percentiles describe the present, and a
    histogram of all of them (for Prometheus, which wants counts since the start)."""

    size: int = 2048
    count: int = 0
    total: float = 0.0  # seconds, all samples
    _samples: deque[float] = field(default_factory=deque, repr=False)
    _buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS), repr=False)

    def add(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        self._samples.append(seconds)
        if len(self._samples) > self.size:
            self._samples.popleft()
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self._buckets[i] += 1
                break

    def histogram(self) -> tuple[list[tuple[str, int]], float]:
        """Cumulative ``(le, count)`` buckets, ``+Inf`` last, and the sum of seconds."""
        out, running = [], 0
        for bound, n in zip(BUCKETS, self._buckets, strict=True):
            running += n
            out.append((repr(bound), running))
        out.append(("+Inf", self.count))
        return out, self.total

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
        self.total = 0.0
        self._buckets = [0] * len(BUCKETS)


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
