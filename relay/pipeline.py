"""One camera's frame path: latest JPEG -> decode -> (process) -> VP8 encode -> fan-out.

Decode and encode run in the camera's own worker thread, one frame at a time.
Between the camera and that thread there is a slot, not a queue: a JPEG that
arrives while the previous one is still being worked on replaces any JPEG
waiting, so latency never grows with load.  Frames are dropped and counted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import av
import numpy as np

from .config import EncoderConfig
from .decode import DecodeError, JpegDecoder, bgr_to_yuv420
from .encoder import VIDEO_CLOCK, KeyframePolicy, Vp8Encoder
from .fanout import EncodedFrame, Fanout
from .stats import LatencyRecorder, RateMeter

log = logging.getLogger(__name__)

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """Holds at most one item; a newer item replaces an unread one."""

    def __init__(self) -> None:
        self._item: T | None = None
        self._event = asyncio.Event()

    def put(self, item: T) -> bool:
        """Store ``item``; True when it replaced an item nobody had taken."""
        replaced = self._item is not None
        self._item = item
        self._event.set()
        return replaced

    async def take(self) -> T:
        while self._item is None:
            self._event.clear()
            await self._event.wait()
        item, self._item = self._item, None
        return item


@dataclass(frozen=True, slots=True)
class JpegFrame:
    """A complete JPEG as it came off the camera's stream."""

    data: bytes
    seq: int
    received: float  # perf_counter() when its last byte arrived
    camera_time: float | None = None  # the board's X-Timestamp, when sent


@dataclass(frozen=True, slots=True)
class _WorkResult:
    packets: list[av.Packet]
    keyframe: bool
    width: int
    height: int
    started: float  # perf_counter() stamps of the worker's steps
    decoded: float
    encoded: float


@dataclass
class PipelineStats:
    frames_in: int = 0
    frames_encoded: int = 0
    dropped_busy: int = 0  # replaced in the slot before the worker took them
    dropped_corrupt: int = 0  # failed to decode: never shown
    dropped_idle: int = 0  # nobody watching: not decoded at all
    keyframes: int = 0
    bytes_out: int = 0  # encoded VP8 bytes
    wait: LatencyRecorder = field(default_factory=LatencyRecorder)  # received -> worker start
    decode: LatencyRecorder = field(default_factory=LatencyRecorder)
    encode: LatencyRecorder = field(default_factory=LatencyRecorder)
    to_encoded: LatencyRecorder = field(default_factory=LatencyRecorder)
    fps_out: RateMeter = field(default_factory=RateMeter)


class CameraPipeline:
    """Turns one camera's JPEGs into VP8 frames for all of its viewers."""

    def __init__(self, name: str, encoder: EncoderConfig, fanout_depth: int = 6) -> None:
        self.name = name
        self.fanout = Fanout(self.request_keyframe, depth=fanout_depth)
        self.stats = PipelineStats()
        self.resolution: tuple[int, int] | None = None
        self._slot: LatestSlot[JpegFrame] = LatestSlot()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"pipeline-{name}")
        self._decoder = JpegDecoder()
        # OpenCV processing between decode and encode (BGR in, BGR out), run in the
        # worker thread; None keeps the fast path that decodes straight to 4:2:0.
        self.processor: Callable[[np.ndarray], np.ndarray] | None = None
        self._encoder = Vp8Encoder(encoder)
        self._keyframes = KeyframePolicy(
            min_gap=encoder.keyframe_min_gap, interval=encoder.keyframe_interval
        )
        self._idle = True
        self._t0: float | None = None
        self._last_pts = -1

    def submit(self, jpeg: JpegFrame) -> None:
        """Called on the event loop for every complete JPEG from the camera."""
        self.stats.frames_in += 1
        if self._slot.put(jpeg):
            self.stats.dropped_busy += 1

    def request_keyframe(self, reason: str = "") -> None:
        log.debug("camera %s: keyframe requested (%s)", self.name, reason)
        self._keyframes.request()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                jpeg = await self._slot.take()
                if self.fanout.viewers == 0:
                    # Nobody to send to: skip the work, restart with a keyframe later.
                    self.stats.dropped_idle += 1
                    self._idle = True
                    continue
                force = self._idle or self._keyframes.due(time.monotonic())
                self._idle = False
                pts = self._pts(jpeg.received)
                result = await loop.run_in_executor(self._executor, self._work, jpeg, pts, force)
                if result is None:
                    self.stats.dropped_corrupt += 1
                    self._idle = self._idle or force  # the keyframe is still owed
                    continue
                self._publish(jpeg, result)
        finally:
            self.fanout.close()

    def close(self) -> None:
        self.fanout.close()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _pts(self, received: float) -> int:
        # RTP timestamps follow the frames' arrival times: the receiver's jitter
        # buffer then sees the camera's real cadence.
        if self._t0 is None:
            self._t0 = received
        pts = int((received - self._t0) * VIDEO_CLOCK)
        if pts <= self._last_pts:
            pts = self._last_pts + 1
        self._last_pts = pts
        return pts

    def _work(self, jpeg: JpegFrame, pts: int, keyframe: bool) -> _WorkResult | None:
        """Runs in the camera's worker thread; touches nothing the loop uses."""
        t0 = time.perf_counter()
        processor = self.processor
        try:
            if processor is None:
                frame = self._decoder.decode_yuv420(jpeg.data)
            else:
                frame = bgr_to_yuv420(processor(self._decoder.decode_bgr(jpeg.data)))
        except DecodeError as exc:
            log.debug("camera %s: frame %d dropped: %s", self.name, jpeg.seq, exc)
            return None
        t1 = time.perf_counter()
        packets, is_key = self._encoder.encode(frame, pts, keyframe)
        t2 = time.perf_counter()
        return _WorkResult(packets, is_key, frame.width, frame.height, t0, t1, t2)

    def _publish(self, jpeg: JpegFrame, result: _WorkResult) -> None:
        now = time.monotonic()
        stats = self.stats
        stats.wait.add(result.started - jpeg.received)
        stats.decode.add(result.decoded - result.started)
        stats.encode.add(result.encoded - result.decoded)
        stats.to_encoded.add(result.encoded - jpeg.received)
        if not result.packets:
            return
        if result.keyframe:
            stats.keyframes += 1
            self._keyframes.produced(now)
        self.resolution = (result.width, result.height)
        stats.frames_encoded += 1
        stats.fps_out.tick(now)
        for packet in result.packets:
            stats.bytes_out += packet.size
            self.fanout.publish(
                EncodedFrame(
                    packet=packet,
                    keyframe=result.keyframe,
                    width=result.width,
                    height=result.height,
                    seq=jpeg.seq,
                    received=jpeg.received,
                    encoded=result.encoded,
                )
            )
