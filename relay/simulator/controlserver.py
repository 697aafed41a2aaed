"""The board's control server (port 80): ``/status``, ``/control``, ``/capture`` and the rest.

Like ESP-IDF's httpd it handles one request at a time, keeps connections alive, and
closes them after the errors the sketch sends with ``httpd_resp_send_err``. The control
faults (500s, resets, late answers, outages) are applied here, and every request read
is recorded in :attr:`ControlServer.log`.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from .faults import Faults
from .httpd import (
    HTTPD_TYPE_TEXT,
    Connections,
    Listener,
    Request,
    Response,
    http_error,
    http_response,
    next_request,
    ok_empty,
    query_value,
    reset,
    x_timestamp,
)
from .options import SimulatorOptions
from .sensor import SensorState, c_atoi

Capture = Callable[[float, bool], Awaitable[bytes]]  # (wall time, as BMP) -> image


@dataclass(frozen=True)
class ControlRecord:
    """One request the control server read, for tests and diagnostics."""

    at: float  # time.monotonic() when it was read
    path: str
    query: str | None
    status: int | None  # None: reset without an answer


class ControlServer(Listener):
    """Serves the control port of one simulated board."""

    def __init__(
        self,
        options: SimulatorOptions,
        sensor: Callable[[], SensorState],
        capture: Capture,
        warm: Callable[[], Awaitable[None]],
        stream_port: Callable[[], int],
        running: Callable[[], bool],
        up: Callable[[], bool],
        spawn: Callable[[Awaitable[None]], None],
    ) -> None:
        self.options = options
        self._sensor = sensor
        self._capture = capture
        self._warm = warm
        self._stream_port = stream_port
        self._running = running  # not stopped
        self._up = up  # not stopped and not rebooting
        self._spawn = spawn
        self._server: asyncio.Server | None = None
        self.port = options.control_port
        self.connections = Connections()
        self._lock = asyncio.Lock()  # the board's httpd: one request at a time
        self._down = False
        self.requests = 0
        self.commands = 0  # /control requests among them
        self.log: deque[ControlRecord] = deque(maxlen=100_000)
        self.outages = 0

    @property
    def is_up(self) -> bool:
        """Not in an outage (the board itself may still be down)."""
        return not self._down

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def serve() -> None:
            while True:
                request = await next_request(reader, writer)
                if request is None:
                    return
                response = await self._request(request)
                if response is None:
                    reset(writer)
                    return
                writer.write(response.data)
                await writer.drain()
                if (
                    not response.keep_open
                    or request.headers.get("connection", "").lower() == "close"
                ):
                    return

        await self.connections.serve(writer, serve, self._running)

    async def _request(self, request: Request) -> Response | None:
        """Serve one request with its faults; None: reset instead of answering."""
        self.requests += 1
        faults = self.options.faults
        command = request.path == "/control"
        if command:
            self.commands += 1
        record = ControlRecord(time.monotonic(), request.path, request.query, None)
        if Faults.hits(faults.control_reset_every, self.requests):
            self.log.append(record)
            return None
        if command and Faults.hits(faults.control_outage_every, self.commands):
            self.log.append(record)
            self._spawn(self.outage(faults.control_outage_seconds))
            return None
        async with self._lock:
            if command and Faults.hits(faults.control_delay_every, self.commands):
                await asyncio.sleep(faults.control_delay_seconds)
            if command and Faults.hits(faults.control_500_every, self.commands):
                response = Response(http_error(500))
            else:
                response = await self._route(request)
        self.log.append(replace(record, status=int(response.data[9:12])))
        return response

    async def outage(self, seconds: float) -> None:
        """Drop the control connections and refuse new ones for ``seconds``.

        The stream and the sensor settings are untouched, as when WiFi drops only the
        control requests of a busy board.
        """
        if not self._up() or self._down:
            return
        self._down = True
        self.outages += 1
        try:
            self.close()
            await self.connections.cut(reset_first=True)
            await asyncio.sleep(seconds)
            # A reboot meanwhile has already opened a new control server.
            if self._up() and not self.listening():
                await self.listen()
        finally:
            self._down = False

    # ---- the sketch's handlers

    async def _route(self, request: Request) -> Response:
        routes: dict[str, Callable[[Request], Awaitable[Response]]] = {
            "/": self._index,
            "/status": self._status,
            "/control": self._cmd,
            "/capture": self._capture_jpeg,
            "/bmp": self._bmp,
            "/xclk": self._xclk,
            "/reg": self._reg,
            "/greg": self._greg,
            "/pll": self._accept_expert,
            "/resolution": self._accept_expert,
        }
        handler = routes.get(request.path)
        if handler is None:
            return Response(http_error(404), keep_open=False)
        if request.method != "GET":
            return Response(http_error(405), keep_open=False)
        return await handler(request)

    async def _index(self, request: Request) -> Response:
        page = _INDEX_HTML.replace("{stream_port}", str(self._stream_port()))
        body = gzip.compress(page.encode(), mtime=0)
        return Response(http_response("200 OK", "text/html", body, (("Content-Encoding", "gzip"),)))

    async def _status(self, request: Request) -> Response:
        body = json.dumps(self._sensor().status(), separators=(",", ":")).encode()
        return Response(
            http_response(
                "200 OK", "application/json", body, (("Access-Control-Allow-Origin", "*"),)
            )
        )

    async def _cmd(self, request: Request) -> Response:
        if not request.query:
            return Response(http_error(404), keep_open=False)
        var = query_value(request.query, "var")
        val = query_value(request.query, "val")
        if var is None or val is None:
            return Response(http_error(404), keep_open=False)
        if not self._sensor().set(var, c_atoi(val)):
            return Response(http_error(500))  # the sketch returns ESP_OK: socket stays
        if var == "framesize":
            await self._warm()  # the sensor, too, takes a moment to switch sizes
        return ok_empty()

    async def _capture_jpeg(self, request: Request) -> Response:
        if self.options.led_illuminator and self.options.capture_led_delay > 0:
            await asyncio.sleep(self.options.capture_led_delay)
        wall = time.time()
        jpeg = await self._capture(wall, False)
        headers = (
            ("Content-Disposition", "inline; filename=capture.jpg"),
            ("Access-Control-Allow-Origin", "*"),
            ("X-Timestamp", x_timestamp(wall)),
        )
        return Response(http_response("200 OK", "image/jpeg", jpeg, headers))

    async def _bmp(self, request: Request) -> Response:
        wall = time.time()
        bmp = await self._capture(wall, True)
        headers = (
            ("Content-Disposition", "inline; filename=capture.bmp"),
            ("Access-Control-Allow-Origin", "*"),
            ("X-Timestamp", x_timestamp(wall)),
        )
        return Response(http_response("200 OK", "image/x-windows-bmp", bmp, headers))

    async def _xclk(self, request: Request) -> Response:
        xclk = query_value(request.query or "", "xclk")
        if not request.query or xclk is None:
            return Response(http_error(404), keep_open=False)
        self._sensor().values["xclk"] = c_atoi(xclk) & 0xFFFFFFFF
        return ok_empty()

    async def _reg(self, request: Request) -> Response:
        q = request.query or ""
        reg, mask, val = (query_value(q, k) for k in ("reg", "mask", "val"))
        if not q or reg is None or mask is None or val is None:
            return Response(http_error(404), keep_open=False)
        r, m = c_atoi(reg), c_atoi(mask)
        registers = self._sensor().registers
        registers[r] = (registers.get(r, 0) & ~m) | (c_atoi(val) & m)
        return ok_empty()

    async def _greg(self, request: Request) -> Response:
        q = request.query or ""
        reg, mask = (query_value(q, k) for k in ("reg", "mask"))
        if not q or reg is None or mask is None:
            return Response(http_error(404), keep_open=False)
        value = self._sensor().registers.get(c_atoi(reg), 0) & c_atoi(mask)
        return Response(
            http_response(
                "200 OK",
                HTTPD_TYPE_TEXT,
                str(value).encode(),
                (("Access-Control-Allow-Origin", "*"),),
            )
        )

    async def _accept_expert(self, request: Request) -> Response:
        # /pll and /resolution: accepted and ignored; the scene keeps its size.
        if not request.query:
            return Response(http_error(404), keep_open=False)
        return ok_empty()


_INDEX_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>ESP32-CAM simulator</title>
<style>body{font-family:sans-serif;background:#222;color:#eee;margin:1em}
img{max-width:100%;display:block;margin-top:1em}a{color:#8cf}</style></head>
<body><h1>ESP32-CAM simulator</h1>
<p>CameraWebServer wire protocol: <a href="/status">/status</a>,
<a href="/capture">/capture</a>, /control?var=framesize&amp;val=6.</p>
<img id="stream" alt="stream">
<script>
document.getElementById('stream').src =
  location.protocol + '//' + location.hostname + ':{stream_port}/stream';
</script>
</body></html>
"""
