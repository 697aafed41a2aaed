"""When a camera's next frame must be a keyframe.

Keyframes come when asked for (a viewer joined, a viewer lost packets), rate-limited
so that many viewers asking at once cost one keyframe, and at a fixed interval as a
safety net.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class KeyframePolicy:
    """Decides when the next frame must be a keyframe. Pure: time is passed in.

    A request is never lost: one that arrives inside the rate-limit gap is served
    by the first frame after the gap ends.
    """

    min_gap: float = 0.5
    interval: float = 10.0
    _pending: bool = False
    _last: float | None = None

    def request(self) -> None:
        self._pending = True

    @property
    def pending(self) -> bool:
        return self._pending

    def due(self, now: float) -> bool:
        if self._last is None:
            return True
        if self._pending and now - self._last >= self.min_gap:
            return True
        return self.interval > 0 and now - self._last >= self.interval

    def produced(self, now: float) -> None:
        """A keyframe went out (asked for or not, e.g. a new encoder's first frame)."""
        self._last = now
        self._pending = False
