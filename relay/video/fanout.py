"""Fan-out of one camera's encoded VP8 frames to every viewer.

One encoder serves all viewers, so a viewer cannot simply skip a frame: every
later inter frame depends on it.  Each subscriber has a short queue; if it
overflows (that viewer's sender stalled) the queue is cleared, the subscriber
waits for the next keyframe, and one is requested.  Latency never grows with a
slow viewer, and the others are not affected.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..common.stats import LatencyRecorder
from .frames import EncodedFrame


@dataclass
class FanoutStats:
    published: int = 0
    overflows: int = 0  # a subscriber fell behind and was reset to the next keyframe
    # JPEG received -> a viewer's sender handed the frame's last packet to its transport
    delivery: LatencyRecorder = field(default_factory=LatencyRecorder)
    # the same, to the last viewer of each frame
    delivery_all: LatencyRecorder = field(default_factory=LatencyRecorder)


class Subscription:
    """One viewer's view of the camera: frames in order, starting at a keyframe."""

    def __init__(self, fanout: Fanout, depth: int) -> None:
        self._fanout = fanout
        self._queue: deque[EncodedFrame] = deque()
        self._depth = depth
        self._waiter: asyncio.Future[None] | None = None
        self._need_keyframe = True
        self._in_flight: EncodedFrame | None = None
        self.closed = False
        self.frames = 0
        self.skipped = 0

    def _push(self, frame: EncodedFrame) -> None:
        if self._need_keyframe and not frame.keyframe:
            self.skipped += 1
            return
        self._need_keyframe = False
        if len(self._queue) >= self._depth:
            # The viewer's sender is stuck: drop its backlog, restart it at a keyframe.
            self._queue.clear()
            self._need_keyframe = True
            self._fanout.stats.overflows += 1
            self._fanout.request_keyframe("subscriber overflow")
            if not frame.keyframe:
                return
            self._need_keyframe = False
        self._queue.append(frame)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> EncodedFrame:
        """Next frame for this viewer.

        Called by the viewer's sender right after it handed the previous frame's
        last packet to the transport, so the time of this call closes that frame's
        delivery measurement.
        """
        self._mark_delivered()
        while not self._queue:
            if self.closed:
                raise EOFError("subscription closed")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        frame = self._queue.popleft()
        self._in_flight = frame
        self.frames += 1
        return frame

    def _mark_delivered(self) -> None:
        if self._in_flight is not None:
            self._fanout.delivered(self._in_flight, time.perf_counter())
            self._in_flight = None

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._queue.clear()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        self._fanout._remove(self)


class FrameSink(Protocol):
    """Receives every frame synchronously on the event loop (e.g. all viewers of one RTP path)."""

    def deliver(self, frame: EncodedFrame) -> None: ...

    def __len__(self) -> int: ...  # viewers served


class Fanout:
    """Distributes one camera's encoded frames; routes keyframe requests to its encoder.

    Two ways to consume: a :class:`Subscription` (pull, one per viewer) or a
    :class:`FrameSink` (push, called in :meth:`publish` itself).
    """

    def __init__(self, request_keyframe: Callable[[str], None], depth: int = 6) -> None:
        self._request_keyframe = request_keyframe
        self._subs: list[Subscription] = []
        self._sinks: list[FrameSink] = []
        self._depth = depth
        self.stats = FanoutStats()
        # recent frames: seq -> [received, last delivery so far]
        self._recent: dict[int, list[float]] = {}

    @property
    def viewers(self) -> int:
        return len(self._subs) + sum(len(s) for s in self._sinks)

    def subscribe(self) -> Subscription:
        sub = Subscription(self, self._depth)
        self._subs.append(sub)
        self.request_keyframe("viewer joined")
        return sub

    def add_sink(self, sink: FrameSink) -> None:
        if sink not in self._sinks:
            self._sinks.append(sink)

    def remove_sink(self, sink: FrameSink) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)

    def request_keyframe(self, reason: str = "viewer request") -> None:
        self._request_keyframe(reason)

    def publish(self, frame: EncodedFrame) -> None:
        self.stats.published += 1
        self._finish_old_frames(frame.seq)
        for sink in self._sinks:
            sink.deliver(frame)
        for sub in self._subs:
            sub._push(frame)

    def delivered(self, frame: EncodedFrame, now: float) -> None:
        """A viewer's sender handed the frame's last packet to its transport at ``now``."""
        self.stats.delivery.add(now - frame.received)
        entry = self._recent.get(frame.seq)
        if entry is None:
            self._recent[frame.seq] = [frame.received, now]
        elif now > entry[1]:
            entry[1] = now

    def _finish_old_frames(self, newest: int) -> None:
        # A frame's delivery to its last viewer is known once viewers moved on.
        for seq in [s for s in self._recent if s < newest - 4]:
            received, last = self._recent.pop(seq)
            self.stats.delivery_all.add(last - received)

    def close(self) -> None:
        for sub in list(self._subs):
            sub.close()
        self._sinks.clear()

    def _remove(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)
