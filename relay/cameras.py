"""The relay's cameras, keyed by name: each one's ingest, pipeline, control, processing.

A camera is where the parts meet: its stream connection (:mod:`relay.ingest`) feeds
its pipeline (:mod:`relay.video`), whose worker runs its processor chain
(:mod:`relay.processing`); its control service (:mod:`relay.control`) learns from
the frames. A camera configured with ``simulate = true`` gets the built-in simulator,
started in this process, so the relay runs with nothing else installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from .config import CameraConfig, RelayConfig
from .control.service import CameraControl
from .ingest.jpeg import JpegFrame
from .ingest.stream import StreamConnection, StreamState
from .jpegout.clients import JpegClients
from .jpegout.latest import LatestJpeg
from .processing.service import CameraProcessing
from .simulator import SimulatedCamera, SimulatorConfig, SimulatorOptions
from .video.fanout import Fanout
from .video.pipeline import CameraPipeline

log = logging.getLogger(__name__)

# Bytes of an earlier JPEG that may still wait in an MJPEG client's transport when the
# next is published; past it that client skips the new one. About a frame (SVGA is 40 KB)
# with the client's 16 KB socket buffer (relay.routes.jpeg): at 64 KB a client reading
# twice a second was 3.5 s behind, at this 2 s (most of it in the client's own buffers).
MJPEG_BACKLOG = 16 * 1024
SNAPSHOT_KEEP = 30.0  # seconds the pipeline keeps making pictures after a snapshot request


class Camera:
    """One camera's whole life in the relay."""

    def __init__(self, cfg: CameraConfig, simulator: SimulatorConfig | None = None) -> None:
        self.cfg = cfg
        # As configured: ``cfg`` gets the simulator's URLs once it runs; a reload compares
        # the new configuration with this one.
        self.configured = cfg
        self.name = cfg.name
        self._simulator_cfg = simulator
        self.simulator: SimulatedCamera | None = None
        self.pipeline = CameraPipeline(cfg.name, cfg.encoder, layers=cfg.layers)
        self.pipeline.mark_placeholders = cfg.simulate or cfg.frame_code
        pipeline = self.pipeline
        # The processor chain; the pipeline runs whichever chain is installed last.
        self.processing = CameraProcessing(
            cfg.name, cfg.processors, lambda chain: setattr(pipeline, "processor", chain)
        )
        self.ingest: StreamConnection | None = None
        # The board's control server; created on start, once its URL is known.
        self.control: CameraControl | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.started_at = time.time()
        # For MJPEG clients and snapshots, one reference to the newest picture shared by
        # all of them: the board's JPEG as it is, or, when a processor changes the picture
        # or the camera is away, the pipeline's picture encoded once (while one is there).
        self.jpegs = LatestJpeg()  # what MJPEG clients see, the placeholder included
        self.stills = LatestJpeg()  # camera pictures only: snapshots
        self.mjpeg = JpegClients(limit=MJPEG_BACKLOG)  # each written to at each JPEG
        self._snapshots_until = 0.0
        pipeline.pictures_wanted = self._pictures_wanted
        pipeline.on_picture = self._on_picture

    @property
    def fanout(self) -> Fanout:
        return self.pipeline.fanout

    async def start(self) -> None:
        cfg = self.cfg
        self.processing.start()
        if cfg.simulate:
            sim = self._simulator_cfg or SimulatorConfig()
            self.simulator = SimulatedCamera(
                SimulatorOptions(
                    host="127.0.0.1",
                    control_port=0,
                    stream_port=0,
                    fps=sim.fps,
                    framesize=sim.framesize,
                    quality=sim.quality,
                )
            )
            await self.simulator.start()
            cfg = replace(
                cfg,
                stream=replace(cfg.stream, url=self.simulator.stream_url),
                control=replace(cfg.control, url=self.simulator.control_url),
            )
            self.cfg = cfg
            log.info("camera %s: built-in simulator at %s", cfg.name, cfg.stream.url)
        control_url = cfg.resolved_control_url()
        if control_url is not None:
            self.control = CameraControl(
                cfg.name, control_url, cfg.control, stream_connected=lambda: self.connected
            )
            await self.control.start()
        self.ingest = StreamConnection(cfg.name, cfg.stream, self._on_frame, self._on_state)
        ingest = self.ingest
        # The placeholder's banner reads the stream's state while the camera is away.
        self.pipeline.link = lambda: (ingest.state.connected, ingest.state.attempts)
        self._tasks = [
            asyncio.create_task(self.pipeline.run(), name=f"pipeline-{cfg.name}"),
            asyncio.create_task(self.ingest.run(), name=f"ingest-{cfg.name}"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self.control is not None:
            await self.control.stop()
        self.pipeline.close()
        self.mjpeg.close()  # MJPEG clients' answers end
        self.jpegs.close()
        self.stills.close()
        if self.simulator is not None:
            with contextlib.suppress(Exception):
                await self.simulator.stop()

    def _on_frame(self, jpeg: JpegFrame) -> None:
        self.pipeline.submit(jpeg)
        if self.pipeline.processor is None:
            self._publish(jpeg.data)
            self.stills.publish(jpeg.data)
        if self.control is not None:
            self.control.on_jpeg(jpeg.data, time.monotonic())

    def want_snapshots(self) -> None:
        """A snapshot was asked for: keep the pipeline's pictures coming for a while (an
        NVR polls every few seconds)."""
        self._snapshots_until = time.monotonic() + SNAPSHOT_KEEP

    def _pictures_wanted(self) -> bool:
        return self.jpeg_clients > 0 or time.monotonic() < self._snapshots_until

    @property
    def jpeg_clients(self) -> int:
        return len(self.mjpeg)

    def _publish(self, jpeg: bytes) -> None:
        still = self.jpegs.publish(jpeg)
        if self.mjpeg.clients:
            self.mjpeg.deliver(still, still.at)

    def _on_picture(self, jpeg: bytes, live: bool) -> None:
        self._publish(jpeg)
        if live:
            self.stills.publish(jpeg)

    def _on_state(self, state: StreamState) -> None:
        log.info("camera %s: %s", self.name, "online" if state.connected else "offline")
        if not state.connected:
            self.pipeline.link_lost()
        if self.control is not None:
            self.control.on_stream_state(state.connected)

    @property
    def connected(self) -> bool:
        return self.ingest is not None and self.ingest.state.connected

    def info(self, viewers: int) -> dict[str, Any]:
        st = self.ingest.state if self.ingest else StreamState()
        p = self.pipeline
        res = p.resolution
        return {
            "name": self.name,
            "connected": st.connected,
            "resolution": f"{res[0]}x{res[1]}" if res else None,
            "fps_in": st.fps_in.rate(),
            "fps_out": p.stats.fps_out.rate(),
            "viewers": viewers,
            "camera": dict(self.control.status or {}) if self.control else {},
            "last_error": st.last_error,
            "stream_url": self.cfg.stream.url,
            "simulated": self.simulator is not None,
            "control": self.control.info() if self.control else None,
            "ingest": self.ingest.counters() if self.ingest else {},
            "processing": [
                {k: s[k] for k in ("id", "name", "enabled", "error", "ms")}
                for s in self.processing.describe()
            ],
            "pipeline": {
                "frames_in": p.stats.frames_in,
                "frames_encoded": p.stats.frames_encoded,
                "dropped_busy": p.stats.dropped_busy,
                "dropped_corrupt": p.stats.dropped_corrupt,
                "dropped_idle": p.stats.dropped_idle,
                "dropped_error": p.stats.dropped_error,
                "away": p.away,
                "away_periods": p.stats.away_periods,
                "placeholder_frames": p.stats.placeholders,
                "keyframes": p.stats.keyframes,
                "bytes_out": p.stats.bytes_out,
                "latency_ms": {
                    "wait": p.stats.wait.summary_ms(),
                    "decode": p.stats.decode.summary_ms(),
                    "process": p.stats.process.summary_ms(),
                    "encode": p.stats.encode.summary_ms(),
                    "received_to_encoded": p.stats.to_encoded.summary_ms(),
                    "received_to_sent": p.fanout.stats.delivery.summary_ms(),
                    "received_to_sent_all": p.fanout.stats.delivery_all.summary_ms(),
                },
            },
        }


@dataclass(frozen=True)
class CameraChanges:
    """What a reload did to the cameras, by name."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    restarted: tuple[str, ...] = ()  # their configuration changed

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.restarted)


class Cameras:
    """All cameras of one relay, by name, in the configuration's order."""

    def __init__(self, cfg: RelayConfig) -> None:
        self.cfg = cfg
        self.by_name: dict[str, Camera] = {c.name: Camera(c, cfg.simulator) for c in cfg.cameras}
        # Called with a camera's name when it is stopped for good or replaced (a reload):
        # whoever holds its viewers ends them.
        self.on_gone: list[Callable[[str], Awaitable[object]]] = []
        self._applying = asyncio.Lock()  # two SIGHUPs close together: one after the other

    def get(self, name: str) -> Camera | None:
        return self.by_name.get(name)

    def names(self) -> list[str]:
        return list(self.by_name)

    async def apply(self, cfg: RelayConfig) -> CameraChanges:
        """Make the running cameras those of ``cfg``: start the new ones, stop the removed
        ones, restart those whose configuration changed; the others run on untouched (their
        board connection, encoder and viewers). A camera that fails to start is logged and
        left out; the others are applied."""
        async with self._applying:
            return await self._apply(cfg)

    async def _apply(self, cfg: RelayConfig) -> CameraChanges:
        old = {name: cam.configured for name, cam in self.by_name.items()}
        new = {c.name: c for c in cfg.cameras}
        simulator_changed = cfg.simulator != self.cfg.simulator
        removed = tuple(n for n in old if n not in new)
        added = tuple(n for n in new if n not in old)
        restarted = tuple(
            n
            for n in new
            if n in old and (new[n] != old[n] or (new[n].simulate and simulator_changed))
        )
        for name in (*removed, *restarted):
            cam = self.by_name.pop(name)
            await self._gone(name)
            await cam.stop()
        started = {}
        for name in (*added, *restarted):
            cam = Camera(new[name], cfg.simulator)
            try:
                await cam.start()
            except Exception:
                log.exception("camera %s: cannot start; left out until the next reload", name)
                with contextlib.suppress(Exception):
                    await cam.stop()
                continue
            started[name] = cam
        running = {**self.by_name, **started}
        self.by_name = {name: running[name] for name in new if name in running}
        self.cfg = cfg
        return CameraChanges(added, removed, restarted)

    async def _gone(self, name: str) -> None:
        for callback in self.on_gone:
            try:
                await callback(name)
            except Exception:
                log.exception("camera %s: ending its viewers failed", name)

    async def start(self) -> None:
        for cam in self.by_name.values():
            await cam.start()

    async def stop(self) -> None:
        await asyncio.gather(*(c.stop() for c in self.by_name.values()))
