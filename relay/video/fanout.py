"""Fan-out of one camera's encoded VP8 frames, of every layer, to every viewer.

One encoder per layer serves all viewers, so a viewer cannot simply skip a frame: every
later inter frame depends on it (except a low layer's temporal-layer-1 frames, which
nothing refers to).  Each subscriber has a short queue; if it
overflows (that viewer's sender stalled) the queue is cleared, the subscriber
waits for the next keyframe, and one is requested.  Latency never grows with a
slow viewer, and the others are not affected.

The fan-out also says which layers anyone wants (the pipeline encodes only those) and
what each rung costs, measured over the last two seconds (viewers choose by it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..common.stats import LatencyRecorder, RateMeter
from .frames import EncodedFrame
from .layers import Layer, Rung, temporal_share

log = logging.getLogger(__name__)

RATE_WINDOW = 2.0  # seconds of frames a rung's bitrate is measured over
RUNGS_EVERY = 0.5  # seconds a measurement of the rungs is reused: every viewer reads it


def _trim(samples: deque[tuple[float, int]], now: float) -> None:
    while samples and now - samples[0][0] > RATE_WINDOW:
        samples.popleft()


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

    def __init__(self, fanout: Fanout, depth: int, layer: int = 0) -> None:
        self._fanout = fanout
        self.layer = layer  # the layer this viewer gets
        self.target = layer  # the layer it moves to at that layer's next keyframe
        self._queue: deque[EncodedFrame] = deque()
        self._depth = depth
        self._waiter: asyncio.Future[None] | None = None
        self._need_keyframe = True
        self._in_flight: EncodedFrame | None = None
        self.closed = False
        self.frames = 0
        self.skipped = 0

    def switch(self, layer: int) -> None:
        """Move to ``layer`` at its next keyframe (asked for now); frames continue till then."""
        if layer == self.target:
            return
        self.target = layer
        if layer != self.layer:
            self._fanout.request_keyframe("viewer switches layer", layer)

    def _push_picture(self, frames: list[EncodedFrame]) -> None:
        """Take this viewer's one frame of a picture: the target layer's keyframe when it
        switches, else its own layer's."""
        if self.target != self.layer:
            for frame in frames:
                if frame.layer == self.target and frame.keyframe:
                    self.layer = frame.layer  # the switch: this keyframe replaces the other
                    self._need_keyframe = False
                    break
        for frame in frames:
            if frame.layer == self.layer:
                self._push(frame)
                return

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
            self._fanout.request_keyframe("subscriber overflow", self.layer)
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

    def deliver_picture(self, frames: list[EncodedFrame]) -> None: ...  # one per layer

    def wanted_layers(self) -> set[int]: ...  # layers its viewers get or move to

    def __len__(self) -> int: ...  # viewers served


class Fanout:
    """Distributes one camera's encoded frames; routes keyframe requests to its encoder.

    Two ways to consume: a :class:`Subscription` (pull, one per viewer) or a
    :class:`FrameSink` (push, called in :meth:`publish` itself).
    """

    def __init__(
        self,
        request_keyframe: Callable[[str, int | None], None],
        depth: int = 6,
        layers: list[Layer] | None = None,
    ) -> None:
        self._request_keyframe = request_keyframe
        self._subs: list[Subscription] = []
        self._sinks: list[FrameSink] = []
        self._depth = depth
        self.layers: list[Layer] = layers or []
        self.adaptive = True  # viewers move between rungs by their links ([cameras.layers] adapt)
        self.stats = FanoutStats()
        # (layer, temporal) -> (monotonic time, bytes) of recent frames: what rungs cost
        self._sizes: dict[tuple[int, int], deque[tuple[float, int]]] = {}
        self._fps: dict[int, RateMeter] = {}
        self._sizes_seen: dict[int, tuple[int, int]] = {}  # layer -> (width, height) last sent
        self._rungs: list[Rung] = []
        self._rungs_at = -RUNGS_EVERY
        # recent frames: seq -> [received, last delivery so far]
        self._recent: dict[int, list[float]] = {}

    @property
    def viewers(self) -> int:
        return len(self._subs) + sum(len(s) for s in self._sinks)

    def subscribe(self, layer: int = 0) -> Subscription:
        sub = Subscription(self, self._depth, layer)
        self._subs.append(sub)
        self.request_keyframe("viewer joined", layer)
        return sub

    def wanted_layers(self) -> set[int]:
        """The layers that someone receives or is about to: the pipeline encodes these."""
        wanted: set[int] = set()
        for sub in self._subs:
            wanted.add(sub.layer)
            wanted.add(sub.target)
        for sink in self._sinks:
            wanted |= sink.wanted_layers()
        return wanted

    def rungs(self, now: float | None = None) -> list[Rung]:
        """What a viewer may be sent, best first, each with its measured cost.

        A layer nobody receives has no measurement: its configured bitrate stands in,
        from the full-size encoder's actual bitrate scaled by the layer's share. Measured
        once per ``RUNGS_EVERY`` for all viewers: the same list until the next measurement.
        """
        now = time.monotonic() if now is None else now
        if now - self._rungs_at < RUNGS_EVERY and self._rungs:
            return self._rungs
        self._rungs, self._rungs_at = self._measure_rungs(now), now
        return self._rungs

    def _measure_rungs(self, now: float) -> list[Rung]:
        rungs: list[Rung] = []
        top = self._sizes_seen.get(0)
        for layer in self.layers:
            size = self._sizes_seen.get(layer.index)
            if size is None:
                size = layer.size_for(*top) if top else (0, 0)
            fps = self._fps[layer.index].rate(now) if layer.index in self._fps else 0.0
            for temporal in range(layer.temporal_layers - 1, -1, -1):
                share = temporal_share(layer, temporal)
                measured = self._bitrate(layer.index, temporal, now)
                if measured is None:
                    planned = layer.encoder.bitrate or self._planned(layer)
                    measured = int(planned * share)
                name = layer.name if share == 1.0 else f"{layer.name}-half-rate"
                rate = fps * (0.5 if share != 1.0 else 1.0)
                rungs.append(
                    Rung(name, layer.index, temporal, size[0], size[1], round(rate, 1), measured)
                )
        return rungs

    def _planned(self, layer: Layer) -> int:
        """The layer's bitrate before it has been measured: from the full-size encoder's
        (its configured one, before the camera's first frame was encoded)."""
        top = self.layers[0].encoder if self.layers else layer.encoder
        return int((top.bitrate or top.configured_bitrate) * layer.encoder.share)

    def _bitrate(self, layer: int, temporal: int, now: float) -> int | None:
        """Bits per second of the layer up to ``temporal`` over the last RATE_WINDOW, or
        over the time it has run when that is shorter: a layer that had just started read
        as 67 kbit/s instead of 320, and a viewer behind 300 kbit/s was started on it."""
        total, oldest = 0, None
        for t in range(temporal + 1):
            samples = self._sizes.get((layer, t))
            if not samples:
                continue
            _trim(samples, now)
            if samples:
                total += sum(n for _, n in samples)
                first = samples[0][0]
                oldest = first if oldest is None else min(oldest, first)
        if oldest is None:
            return None
        span = now - oldest
        if span < RATE_WINDOW / 4:
            return None  # too few frames to say: planned from the configuration instead
        return int(total * 8 / min(span + 1 / 25, RATE_WINDOW))

    def _measure(self, frame: EncodedFrame, now: float) -> None:
        key = (frame.layer, frame.temporal)
        samples = self._sizes.get(key)
        if samples is None:
            samples = self._sizes[key] = deque()
        samples.append((now, frame.packet.size))
        _trim(samples, now)
        meter = self._fps.get(frame.layer)
        if meter is None:
            meter = self._fps[frame.layer] = RateMeter()
        meter.tick(now)
        self._sizes_seen[frame.layer] = (frame.width, frame.height)

    def add_sink(self, sink: FrameSink) -> None:
        if sink not in self._sinks:
            self._sinks.append(sink)

    def remove_sink(self, sink: FrameSink) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)

    def request_keyframe(self, reason: str = "viewer request", layer: int | None = None) -> None:
        """Ask ``layer``'s encoder (None: every layer's) for a keyframe."""
        self._request_keyframe(reason, layer)

    def publish(self, frame: EncodedFrame) -> None:
        self.publish_picture([frame])

    def publish_picture(self, frames: list[EncodedFrame]) -> None:
        """One camera picture's frames, one per layer encoded, delivered together: each
        viewer gets one of them (two would share an RTP timestamp)."""
        now = time.monotonic()
        for frame in frames:
            self.stats.published += 1
            self._measure(frame, now)
        self._finish_old_frames(frames[0].seq)
        for sink in list(self._sinks):
            try:
                sink.deliver_picture(frames)
            except Exception:
                # One sink's failure must not stop the camera for everyone else.
                log.exception("a frame sink failed; it is removed")
                self.remove_sink(sink)
        for sub in self._subs:
            sub._push_picture(frames)

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
