"""One camera's frame path: latest JPEG -> decode -> (process) -> VP8 encode per layer -> fan-out.

Decode and encode run in the camera's own worker thread, one frame at a time.
Between the camera and that thread there is a slot, not a queue: a JPEG that
arrives while the previous one is still being worked on replaces any JPEG
waiting, so latency never grows with load.  Frames are dropped and counted.

While the camera is away the worker encodes placeholder frames at a low rate instead
(:mod:`relay.video.placeholder`), through the same encoder, so viewers keep a playing track
with a banner, and the camera's next frame follows them at once. Away means: no
camera yet; the stream connection closed or refused (known at once: the placeholder
follows within ``PLACEHOLDER_AFTER_LOST``, so no viewer sees a gap over half a second);
or no frame for ``PLACEHOLDER_AFTER`` on a connection that stays open (a stall may be a
slow frame, so it gets longer).

Layers (:mod:`relay.video.layers`): the full-size encoding and, for viewers on slow links,
a smaller one, each encoded once per frame from the same decoded picture, each only while
a viewer receives it (the fan-out says which). Each layer has its own keyframe policy:
a viewer switching to a layer asks for that layer's keyframe, not everyone's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import av
import numpy as np
import simplejpeg

from ..common.stats import LatencyRecorder, RateMeter
from ..ingest.jpeg import JpegFrame
from .config import EncoderConfig, LayersConfig
from .decode import DecodeError, JpegDecoder, bgr_to_yuv420, scale_yuv420
from .fanout import Fanout
from .frames import VIDEO_CLOCK, EncodedFrame
from .layers import Layer, build_layers
from .placeholder import AwayInfo, Placeholder
from .slot import LatestSlot

log = logging.getLogger(__name__)

PLACEHOLDER_FPS = 4.0  # enough for browsers to keep the track playing; costs little
PLACEHOLDER_AFTER = 1.0  # seconds without a frame before the placeholder shows
# After the connection closed: long enough for a board that answers at once to be back
# without a flash of the banner, short enough that the pause stays under 0.5 s.
PLACEHOLDER_AFTER_LOST = 0.2
MIN_SIDE = 16  # a decoded JPEG smaller than this is damage, not a camera frame
PLACEHOLDER_SEQ = -1  # EncodedFrame.seq of placeholder frames


class _CameraFanout(Fanout):
    """The fan-out, with delivery latency measured on camera frames only."""

    def delivered(self, frame: EncodedFrame, now: float) -> None:
        if frame.seq != PLACEHOLDER_SEQ:
            super().delivered(frame, now)

    def _finish_old_frames(self, newest: int) -> None:
        if newest != PLACEHOLDER_SEQ:
            super()._finish_old_frames(newest)


@dataclass(frozen=True, slots=True)
class _LayerOutput:
    layer: Layer
    packets: list[av.Packet]
    keyframe: bool
    temporal: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class _WorkResult:
    outputs: list[_LayerOutput]
    started: float  # perf_counter() stamps of the worker's steps
    decoded: float
    encoded: float
    processing: float = 0.0  # seconds of it in the processor chain (part of decoded - started)
    jpeg: bytes | None = None  # the picture as a JPEG, for JPEG clients (see pictures_wanted)


@dataclass
class PipelineStats:
    frames_in: int = 0
    frames_encoded: int = 0
    dropped_busy: int = 0  # replaced in the slot before the worker took them
    dropped_corrupt: int = 0  # failed to decode: never shown
    dropped_idle: int = 0  # nobody watching: not decoded at all
    dropped_error: int = 0  # processing or encoding failed unexpectedly
    placeholders: int = 0  # placeholder frames encoded while the camera was away
    away_periods: int = 0  # times the placeholder took over
    keyframes: int = 0
    bytes_out: int = 0  # encoded VP8 bytes, all layers
    wait: LatencyRecorder = field(default_factory=LatencyRecorder)  # received -> worker start
    decode: LatencyRecorder = field(default_factory=LatencyRecorder)
    process: LatencyRecorder = field(default_factory=LatencyRecorder)  # the processor chain
    encode: LatencyRecorder = field(default_factory=LatencyRecorder)
    to_encoded: LatencyRecorder = field(default_factory=LatencyRecorder)
    fps_out: RateMeter = field(default_factory=RateMeter)


class CameraPipeline:
    """Turns one camera's JPEGs into VP8 frames, per layer, for all of its viewers."""

    def __init__(
        self,
        name: str,
        encoder: EncoderConfig,
        fanout_depth: int = 6,
        layers: LayersConfig | None = None,
    ) -> None:
        self.name = name
        layers = layers or LayersConfig()
        self.layers = build_layers(encoder, layers)
        self.fanout: Fanout = _CameraFanout(
            self.request_keyframe, depth=fanout_depth, layers=self.layers
        )
        self.fanout.adaptive = layers.adapt
        self.stats = PipelineStats()
        self.resolution: tuple[int, int] | None = None
        self._slot: LatestSlot[JpegFrame] = LatestSlot()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"pipeline-{name}")
        self._decoder = JpegDecoder()
        # OpenCV processing between decode and encode (BGR in, BGR out), run in the
        # worker thread; None keeps the fast path that decodes straight to 4:2:0.
        self.processor: Callable[[np.ndarray], np.ndarray] | None = None
        self._pictures = 0  # camera frames encoded (placeholders too): RTP picture IDs
        self._t0: float | None = None
        self._last_pts = -1
        # What the banner says: (stream connected, reconnect attempts); set by the camera.
        self.link: Callable[[], tuple[bool, int]] = lambda: (False, 0)
        self.placeholder_fps = PLACEHOLDER_FPS
        self.placeholder_after = PLACEHOLDER_AFTER
        self._placeholder = Placeholder()  # worker thread only
        self._last_good: float | None = None  # monotonic time of the last frame shown
        self._last_wall = time.time()  # wall clock of the last camera frame (banner "since")
        self._last_received: float | None = None
        self._interval = 0.0  # smoothed time between camera frames
        self._next_placeholder = 0.0
        self._lost_at: float | None = None  # monotonic time the connection last closed
        self._unshown: JpegFrame | None = None  # newest JPEG dropped while nobody watched
        self.away = False
        # JPEG clients (snapshots, MJPEG) of what this pipeline makes of a frame: the
        # processed picture, the placeholder. Asked per frame; each picture is encoded
        # once for all of them, and only while one is there (the board's own JPEGs are
        # served without the pipeline when no processor changes the picture).
        self.pictures_wanted: Callable[[], bool] = lambda: False
        self.on_picture: Callable[[bytes, bool], None] = lambda jpeg, live: None
        self.picture_quality = 85

    @property
    def mark_placeholders(self) -> bool:
        """Whether placeholder frames carry the frame code (simulated and tested cameras)."""
        return self._placeholder.mark

    @mark_placeholders.setter
    def mark_placeholders(self, mark: bool) -> None:
        self._placeholder.mark = mark

    def _away_threshold(self) -> float:
        # A slow camera (weak WiFi, UXGA) is not away between two of its frames.
        return max(self.placeholder_after, min(3 * self._interval, 5.0))

    def _placeholder_wait(self, now: float) -> float:
        """Seconds until a placeholder frame is due (<= 0: now)."""
        if self._last_good is None:
            away_at = now
        else:
            away_at = self._last_good + self._away_threshold()
            if self._lost_at is not None and self._lost_at >= self._last_good:
                away_at = min(away_at, self._lost_at + PLACEHOLDER_AFTER_LOST)
        return max(away_at, self._next_placeholder) - now

    def link_lost(self) -> None:
        """The camera's connection closed or was refused: the camera is gone, not slow."""
        self._lost_at = time.monotonic()
        self._slot.interrupt()  # the wait for the next frame was sized for a stall

    async def _next_jpeg(self) -> JpegFrame | None:
        """The next JPEG, or None when a placeholder frame is due instead."""
        period = 1.0 / self.placeholder_fps
        while True:
            waiting = self._slot.poll()  # a camera frame always beats a placeholder
            if waiting is not None:
                return waiting
            wait = self._placeholder_wait(time.monotonic())
            watched = self.fanout.viewers > 0 or self.pictures_wanted()
            if wait <= 0 and watched:
                return None
            try:
                # Without viewers, still wake up now and then: one may join while the
                # camera is away, and must get placeholders.
                async with asyncio.timeout(wait if watched else max(wait, period)):
                    jpeg = await self._slot.take()
            except TimeoutError:
                continue
            if jpeg is not None:
                return jpeg

    def _note_received(self, jpeg: JpegFrame) -> None:
        if self._last_received is not None and not self.away:
            gap = min(jpeg.received - self._last_received, 5.0)
            self._interval = gap if self._interval == 0 else 0.9 * self._interval + 0.1 * gap
        self._last_received = jpeg.received
        self._last_wall = time.time()

    def submit(self, jpeg: JpegFrame) -> None:
        """Called on the event loop for every complete JPEG from the camera."""
        self.stats.frames_in += 1
        if self._slot.put(jpeg):
            self.stats.dropped_busy += 1

    def request_keyframe(self, reason: str = "", layer: int | None = None) -> None:
        """The next frame of ``layer`` (None: of every layer) is to be a keyframe."""
        log.debug("camera %s: keyframe of layer %s requested (%s)", self.name, layer, reason)
        for each in self.layers:
            if layer is None or each.index == layer:
                each.keyframes.request()

    def _plan(self, now: float, force_all: bool) -> list[tuple[Layer, bool]]:
        """The layers to encode this frame and whether each must make a keyframe; marks
        the others idle (they restart with a keyframe when someone wants them again)."""
        wanted = self.fanout.wanted_layers()
        plan = []
        for layer in self.layers:
            if layer.index in wanted:
                plan.append((layer, force_all or layer.idle or layer.keyframes.due(now)))
            layer.idle = layer.index not in wanted
        return plan

    def _owe_keyframes(self, plan: list[tuple[Layer, bool]]) -> None:
        # A frame that failed: the keyframes it should have carried are still owed.
        for layer, force in plan:
            if force:
                layer.idle = True

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                jpeg = await self._next_jpeg()
                if jpeg is None:
                    await self._show_placeholder(loop)
                    continue
                self._note_received(jpeg)
                # Back from away: the whole picture changes, a keyframe says it best.
                plan = self._plan(time.monotonic(), self.away)
                picture = self.processor is not None and self.pictures_wanted()
                if not plan and not picture:
                    # Nobody to send to: skip the work, restart with a keyframe later.
                    self.stats.dropped_idle += 1
                    self._unshown = jpeg
                    self._last_good = time.monotonic()
                    continue
                self._unshown = None
                pts = self._pts(jpeg.received)
                try:
                    result = await loop.run_in_executor(
                        self._executor, self._work, jpeg, pts, plan, picture
                    )
                except Exception:
                    log.exception("camera %s: frame %d failed", self.name, jpeg.seq)
                    self.stats.dropped_error += 1
                    self._owe_keyframes(plan)
                    continue
                if result is None:
                    self.stats.dropped_corrupt += 1
                    self._owe_keyframes(plan)
                    continue
                self._last_good = time.monotonic()
                if self.away:
                    self.away = False
                    log.info("camera %s: live again", self.name)
                self._publish(jpeg, result)
        finally:
            self.fanout.close()

    async def _show_placeholder(self, loop: asyncio.AbstractEventLoop) -> None:
        now = time.monotonic()
        self._next_placeholder = now + 1.0 / self.placeholder_fps
        first = not self.away
        if first:
            self.away = True
            self.stats.away_periods += 1
            log.info("camera %s: away, showing the placeholder", self.name)
        connected, attempts = self.link()
        info = AwayInfo(connected=connected, attempt=attempts, since=self._last_wall)
        plan = self._plan(now, first)
        picture = self.pictures_wanted()
        if not plan and not picture:
            return
        pts = self._pts(time.perf_counter())
        unshown, self._unshown = self._unshown, None
        try:
            result = await loop.run_in_executor(
                self._executor, self._work_placeholder, info, unshown, pts, plan, picture
            )
        except Exception:
            log.exception("camera %s: placeholder frame failed", self.name)
            self.stats.dropped_error += 1
            self._owe_keyframes(plan)
            return
        self.stats.placeholders += 1
        self._publish(None, result)

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

    def _encode_layers(
        self, frame: av.VideoFrame, pts: int, plan: list[tuple[Layer, bool]]
    ) -> list[_LayerOutput]:
        """Worker thread: one frame through each planned layer's encoder."""
        outputs = []
        for layer, keyframe in plan:
            source = frame
            if layer.scale != 1.0:
                width, height = layer.size_for(frame.width, frame.height)
                source = scale_yuv420(frame, width, height)
            layer.encoder.reference = (frame.width, frame.height)
            packets, is_key, temporal = layer.encoder.encode(source, pts, keyframe)
            outputs.append(
                _LayerOutput(layer, packets, is_key, temporal, source.width, source.height)
            )
        return outputs

    def _jpeg(self, bgr: np.ndarray) -> bytes:
        """Worker thread: one picture as a JPEG for the JPEG clients."""
        return simplejpeg.encode_jpeg(
            np.ascontiguousarray(bgr), quality=self.picture_quality, colorspace="BGR"
        )

    def _work(
        self, jpeg: JpegFrame, pts: int, plan: list[tuple[Layer, bool]], picture: bool = False
    ) -> _WorkResult | None:
        """Runs in the camera's worker thread; touches nothing the loop uses."""
        t0 = time.perf_counter()
        processor = self.processor
        try:
            bgr = self._decoder.decode_bgr(jpeg.data)
            if bgr.shape[0] < MIN_SIDE or bgr.shape[1] < MIN_SIDE:
                raise DecodeError(f"frame of {bgr.shape[1]}x{bgr.shape[0]} is too small")
            processing = 0.0
            if processor is not None:
                tp = time.perf_counter()
                bgr = processor(bgr)
                processing = time.perf_counter() - tp
            frame = bgr_to_yuv420(bgr)
        except DecodeError as exc:
            log.debug("camera %s: frame %d dropped: %s", self.name, jpeg.seq, exc)
            return None
        t1 = time.perf_counter()
        outputs = self._encode_layers(frame, pts, plan)
        t2 = time.perf_counter()
        self._placeholder.remember(bgr)
        picture_jpeg = self._jpeg(bgr) if picture else None
        return _WorkResult(outputs, t0, t1, t2, processing, picture_jpeg)

    def _work_placeholder(
        self,
        info: AwayInfo,
        unshown: JpegFrame | None,
        pts: int,
        plan: list[tuple[Layer, bool]],
        picture: bool = False,
    ) -> _WorkResult:
        """Worker thread: encode one placeholder frame, the same size as the last frame."""
        t0 = time.perf_counter()
        if unshown is not None:
            # The camera's last frame came while nobody watched: that is the one to dim.
            with contextlib.suppress(DecodeError):
                self._placeholder.remember(self._decoder.decode_bgr(unshown.data))
        top = self.layers[0].encoder
        if not self._placeholder.has_frame and top.size is not None:
            self._placeholder.default_size = top.size
        bgr = self._placeholder.render(info)
        frame = bgr_to_yuv420(bgr)
        t1 = time.perf_counter()
        outputs = self._encode_layers(frame, pts, plan)
        t2 = time.perf_counter()
        return _WorkResult(outputs, t0, t1, t2, jpeg=self._jpeg(bgr) if picture else None)

    def _publish(self, jpeg: JpegFrame | None, result: _WorkResult) -> None:
        """Send an encoded frame to the viewers; ``jpeg`` is None for a placeholder."""
        now = time.monotonic()
        stats = self.stats
        if jpeg is not None:
            stats.wait.add(result.started - jpeg.received)
            stats.decode.add(result.decoded - result.started - result.processing)
            if result.processing:
                stats.process.add(result.processing)
            stats.encode.add(result.encoded - result.decoded)
            stats.to_encoded.add(result.encoded - jpeg.received)
        if result.jpeg is not None:
            self.on_picture(result.jpeg, jpeg is not None)
        if not any(out.packets for out in result.outputs):
            return
        if jpeg is not None:
            stats.frames_encoded += 1
            stats.fps_out.tick(now)
            seq, received = jpeg.seq, jpeg.received
        else:
            seq, received = PLACEHOLDER_SEQ, result.started
        picture = self._pictures
        self._pictures += 1
        frames: list[EncodedFrame] = []
        for out in result.outputs:
            layer = out.layer
            if out.keyframe:
                stats.keyframes += 1
                layer.keyframes.produced(now)
            if layer.index == 0:
                self.resolution = (out.width, out.height)
            for packet in out.packets:
                stats.bytes_out += packet.size
                frames.append(
                    EncodedFrame(
                        packet=packet,
                        keyframe=out.keyframe,
                        width=out.width,
                        height=out.height,
                        seq=seq,
                        received=received,
                        encoded=result.encoded,
                        layer=layer.index,
                        temporal=out.temporal,
                        picture=picture,
                        tl0=layer.next_tl0(out.temporal),
                    )
                )
        if frames:
            self.fanout.publish_picture(frames)
