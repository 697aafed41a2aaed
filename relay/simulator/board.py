"""A simulated ESP32-CAM running the stock CameraWebServer sketch, on two local ports.

The board is its two servers, like the real one: the control server
(:mod:`relay.simulator.controlserver`) and the stream server
(:mod:`relay.simulator.streamserver`), HTTP written by hand on
``asyncio.start_server`` so that the bytes match ESP-IDF's ``esp_http_server`` and
faults can be injected at byte level. Here: the sensor they share, the rendering of
frames in worker threads (never on the event loop), and the board's life: start,
reboot (a brownout), stop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .announce import Announcer
from .controlserver import ControlServer
from .options import SimulatorOptions
from .scene import SceneRenderer
from .sensor import SensorState, c_atoi
from .streamserver import StreamServer


class SimulatedCamera:
    """An ESP32-CAM running the stock CameraWebServer sketch, on two local ports."""

    def __init__(self, options: SimulatorOptions | None = None) -> None:
        self.options = options or SimulatorOptions()
        if self.options.fps <= 0:
            raise ValueError("fps must be positive")
        self.sensor = SensorState(self.options)
        self._renderer = SceneRenderer(scene=self.options.scene)
        self._executor: ThreadPoolExecutor | None = None
        self._bg_tasks: set[asyncio.Task[Any]] = set()
        self._running = False
        self._down = False
        self._counter = self.options.first_frame
        self._announcer: Announcer | None = None
        self._render_lead = 0.008  # seconds rendering is started ahead of a send
        self.reboots = 0
        self.render_count = 0
        self.render_seconds_total = 0.0
        self.render_seconds_max = 0.0
        self.control_server = ControlServer(
            self.options,
            sensor=lambda: self.sensor,
            capture=self._capture,
            warm=self._warm,
            stream_port=lambda: self.stream_port,
            running=lambda: self._running,
            up=lambda: self.is_up,
            spawn=self._spawn,
        )
        self.stream_server = StreamServer(
            self.options,
            render=self._render_stream,
            reboot=lambda seconds: self._spawn(self.reboot(seconds)),
            render_lead=lambda: self._render_lead,
            running=lambda: self._running,
        )

    # ---- public

    async def start(self) -> None:
        if self._running:
            return
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="esp32-sim")
        try:
            await self._listen()
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise
        self._running = True
        if self.options.mdns_name:
            self._announcer = Announcer(
                self.options.mdns_name, self.options.host, self.control_port
            )
            await self._announcer.start()
        if self.options.faults.refuse_first_seconds > 0:
            # Still booting: the ports are known, connections are refused for a while.
            self._down = True
            self._close_servers()
            self._spawn(self._boot_late(self.options.faults.refuse_first_seconds))
        await self._warm()

    async def stop(self) -> None:
        """Close the servers, every connection and task, and the render threads."""
        self._running = False
        if self._announcer is not None:
            announcer, self._announcer = self._announcer, None
            await announcer.stop()
        self._close_servers()
        me = asyncio.current_task()
        tasks = [t for t in self._bg_tasks if t is not me]
        for task in tasks:
            task.cancel()
        await asyncio.gather(
            self.control_server.connections.cut(reset_first=False),
            self.stream_server.connections.cut(reset_first=False),
            *tasks,
            return_exceptions=True,
        )
        await self.control_server.wait_closed()
        await self.stream_server.wait_closed()
        if self._executor is not None:
            executor, self._executor = self._executor, None
            await asyncio.get_running_loop().run_in_executor(None, executor.shutdown)

    async def __aenter__(self) -> SimulatedCamera:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def control_port(self) -> int:
        return self.control_server.port

    @property
    def stream_port(self) -> int:
        return self.stream_server.port

    @property
    def control_url(self) -> str:
        return f"http://{self._url_host()}:{self.control_port}"

    @property
    def stream_url(self) -> str:
        return f"http://{self._url_host()}:{self.stream_port}/stream"

    @property
    def frame_size(self) -> tuple[int, int]:
        return self.sensor.frame_size

    @property
    def render_ms_mean(self) -> float:
        return 1000 * self.render_seconds_total / self.render_count if self.render_count else 0.0

    def status(self) -> dict[str, int]:
        """The /status object, keys in the board's order."""
        return self.sensor.status()

    def control(self, var: str, value: str) -> int:
        """Apply ``/control?var=&val=`` in process; returns the HTTP status."""
        return 200 if self.sensor.set(var, c_atoi(value)) else 500

    @property
    def is_up(self) -> bool:
        """Accepting connections (not stopped, not rebooting)."""
        return self._running and not self._down

    @property
    def control_is_up(self) -> bool:
        """The control server accepts connections."""
        return self.is_up and self.control_server.is_up

    async def reboot(self, down_seconds: float) -> None:
        """Brownout: drop every connection, refuse new ones, come back with defaults."""
        if not self._running or self._down:
            return
        self._down = True
        self.reboots += 1
        try:
            self._close_servers()
            await asyncio.gather(
                self.control_server.connections.cut(reset_first=True),
                self.stream_server.connections.cut(reset_first=True),
            )
            self.sensor = SensorState(self.options)
            await self._come_back(down_seconds)
        finally:
            self._down = False

    async def control_outage(self, seconds: float) -> None:
        """The control server alone goes away for ``seconds`` (WiFi dropping requests)."""
        await self.control_server.outage(seconds)

    # ---- servers

    async def _listen(self) -> None:
        await self.control_server.listen()
        try:
            await self.stream_server.listen()
        except BaseException:
            self.control_server.close()
            raise

    def _close_servers(self) -> None:
        self.control_server.close()
        self.stream_server.close()

    async def _come_back(self, down_seconds: float) -> None:
        await asyncio.sleep(down_seconds)
        if self._running:
            await self._listen()

    async def _boot_late(self, down_seconds: float) -> None:
        try:
            await self._come_back(down_seconds)
        finally:
            self._down = False

    def _url_host(self) -> str:
        host = self.options.host
        if host in ("", "0.0.0.0", "::"):
            return "127.0.0.1"
        return f"[{host}]" if ":" in host else host

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._bg_tasks.add(task)
        task.add_done_callback(self._bg_tasks.discard)

    # ---- frames

    async def _warm(self) -> None:
        if self._executor is not None:
            w, h = self.sensor.frame_size
            await asyncio.get_running_loop().run_in_executor(
                self._executor, self._renderer.warm, w, h
            )

    async def _render_stream(self, send_wall: float) -> bytes:
        return await self._render(send_wall, stream=True)

    async def _capture(self, wall: float, bmp: bool) -> bytes:
        return await self._render(wall, bmp=bmp)

    async def _render(self, send_wall: float, *, stream: bool = False, bmp: bool = False) -> bytes:
        executor = self._executor
        if executor is None:
            raise ConnectionResetError("simulator stopped")
        settings = self.sensor.render_settings()
        # Stream frames are numbered consecutively, so a gap at the far end is a drop;
        # /capture and /bmp show the number of the last stream frame.
        counter = self._counter
        if stream:
            self._counter += 1
        fn = self._renderer.render_bmp if bmp else self._renderer.render
        t0 = time.perf_counter()
        data = await asyncio.get_running_loop().run_in_executor(
            executor, fn, settings, send_wall, counter
        )
        took = time.perf_counter() - t0
        self.render_count += 1
        self.render_seconds_total += took
        self.render_seconds_max = max(self.render_seconds_max, took)
        # Keep the lead a little above recent render times.
        self._render_lead = 0.9 * self._render_lead + 0.1 * (1.5 * took + 0.002)
        return data
