"""The newest JPEG of one camera, and a wait for the next one. No I/O.

Every client of a camera's JPEGs (snapshots, each MJPEG client) reads this one holder:
the board's bytes are kept once, never copied per client, and a client that is slower
than the camera simply gets the newest JPEG when it is ready again, so nothing queues.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from .multipart import chunk, part


@dataclass(frozen=True, slots=True)
class Still:
    data: bytes  # one whole JPEG, as the board sent it
    seq: int  # increases by one per JPEG
    at: float  # time.monotonic() when it arrived
    # The MJPEG part, made once for every client: per client and frame, a copy of the
    # JPEG into its part cost more than the write itself.
    part: bytes = field(init=False, repr=False)
    _chunk: bytes | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "part", part(self.data))

    @property
    def chunk(self) -> bytes:
        """The part as one HTTP/1.1 chunk (``Transfer-Encoding: chunked``), made once."""
        if self._chunk is None:
            object.__setattr__(self, "_chunk", chunk(self.part))
        assert self._chunk is not None
        return self._chunk

    def age(self, now: float | None = None) -> float:
        return (time.monotonic() if now is None else now) - self.at


class LatestJpeg:
    """Published to on the event loop; read by any number of waiting clients.

    Each waiter has a future of its own, resolved at the next publish: one shared future
    behind ``wait_for(shield(...))`` cost a task and a timer per client and frame, the
    larger part of a client's 0.0015 cores at 25 fps."""

    def __init__(self) -> None:
        self.still: Still | None = None
        self._seq = 0
        self._waiters: list[asyncio.Future[Still]] = []
        self.closed = False

    def close(self) -> None:
        """No picture will come again (the camera was removed): every waiting client, and
        every later one, gets ConnectionResetError and ends its answer."""
        self.closed = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(ConnectionResetError("the camera was removed"))

    def publish(self, data: bytes, at: float | None = None) -> Still:
        self._seq += 1
        still = Still(data, self._seq, time.monotonic() if at is None else at)
        self.still = still
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(still)
        return still

    async def newer(self, seq: int, timeout: float | None) -> Still | None:
        """The newest JPEG after ``seq`` (at once if there is one), or None after
        ``timeout`` seconds without one (None: no limit; a timer per wait is a good part
        of what an MJPEG client costs)."""
        if self.closed:
            raise ConnectionResetError("the camera was removed")
        still = self.still
        if still is not None and still.seq > seq:
            return still
        waiter: asyncio.Future[Still] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            if timeout is None:
                return await waiter
            async with asyncio.timeout(timeout):
                return await waiter
        except TimeoutError:
            return None
        finally:
            if not waiter.done():
                waiter.cancel()
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
