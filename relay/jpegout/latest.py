"""The newest JPEG of one camera, and a wait for the next one. No I/O.

Every client of a camera's JPEGs (snapshots, each MJPEG client) reads this one holder:
the board's bytes are kept once, never copied per client, and a client that is slower
than the camera simply gets the newest JPEG when it is ready again, so nothing queues.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Still:
    data: bytes  # one whole JPEG, as the board sent it
    seq: int  # increases by one per JPEG
    at: float  # time.monotonic() when it arrived

    def age(self, now: float | None = None) -> float:
        return (time.monotonic() if now is None else now) - self.at


class LatestJpeg:
    """Published to on the event loop; read by any number of waiting clients."""

    def __init__(self) -> None:
        self.still: Still | None = None
        self._seq = 0
        self._next: asyncio.Future[Still] | None = None

    def publish(self, data: bytes, at: float | None = None) -> Still:
        self._seq += 1
        still = Still(data, self._seq, time.monotonic() if at is None else at)
        self.still = still
        waiting, self._next = self._next, None
        if waiting is not None and not waiting.done():
            waiting.set_result(still)
        return still

    async def newer(self, seq: int, timeout: float) -> Still | None:
        """The newest JPEG after ``seq`` (at once if there is one), or None after
        ``timeout`` seconds without one."""
        still = self.still
        if still is not None and still.seq > seq:
            return still
        if self._next is None or self._next.done():
            self._next = asyncio.get_running_loop().create_future()
        with contextlib.suppress(TimeoutError):
            # shield: one client's timeout must not cancel the future the others wait on
            return await asyncio.wait_for(asyncio.shield(self._next), timeout)
        return None
