"""One camera's stream connection: connect, parse, hand JPEGs on, reconnect.

The board serves a single stream client, so this holds exactly one connection
and never opens a second while one is alive.  The HTTP exchange is written by
hand on a raw socket because some firmware answers with no status line at all,
which HTTP client libraries reject.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..common.backoff import Backoff
from ..common.stats import RateMeter
from .config import StreamConfig
from .httpwire import ResponseReader, WireError
from .jpeg import JpegFrame
from .mjpeg import MultipartParser, boundary_from_content_type

log = logging.getLogger(__name__)

READ_SIZE = 64 * 1024
# Longest wait between attempts when the board answered (refused the connection, an HTTP
# error, a dropped stream): it is rebooting or busy, a retry costs it nothing, and the video
# must come back within a second of the board being ready. Silence (connect timeouts, no
# route, a stalled stream) backs off up to the configured maximum.
ANSWERED_RETRY_MAX = 0.5


class StreamError(Exception):
    """The stream connection failed; the message is what a user should read.

    ``answered`` tells whether the board answered (an HTTP error, a closed stream) rather
    than staying silent; it decides how soon to try again.
    """

    def __init__(self, message: str, *, answered: bool = True) -> None:
        super().__init__(message)
        self.answered = answered


@dataclass
class StreamState:
    connected: bool = False
    since: float | None = None  # wall-clock time of the last change of `connected`
    attempts: int = 0  # failed attempts since the last good connection
    last_error: str | None = None
    connections: int = 0
    disconnects: int = 0  # streaming connections that ended
    failed_attempts: int = 0  # connection attempts that produced no frame
    refused: int = 0  # connections refused (a board booting)
    connect_timeouts: int = 0
    http_errors: int = 0  # stream answered with a status >= 400
    stalls: int = 0  # the stall watchdog closed the connection
    frames: int = 0
    bytes: int = 0
    dropped_invalid: int = 0
    dropped_oversize: int = 0
    garbage_bytes: int = 0
    fps_in: RateMeter = field(default_factory=RateMeter)


class StreamConnection:
    """Reads one camera's MJPEG stream and calls ``on_frame`` for every complete JPEG."""

    def __init__(
        self,
        name: str,
        cfg: StreamConfig,
        on_frame: Callable[[JpegFrame], None],
        on_state: Callable[[StreamState], None] | None = None,
        *,
        rng: random.Random | None = None,
    ) -> None:
        if not cfg.url:
            raise ValueError(f"camera {name} has no stream URL")
        self.name = name
        self.cfg = cfg
        self.state = StreamState()
        self.last_jpeg: JpegFrame | None = None
        self._on_frame = on_frame
        self._on_state = on_state
        self._rng = rng or random.Random()
        self._backoff = Backoff(cfg.backoff_min, cfg.backoff_max)
        self._seq = 0
        self._parser: MultipartParser | None = None
        parts = urlsplit(cfg.url)
        self._host = parts.hostname or ""
        self._port = parts.port or 80
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._host_header = parts.netloc

    async def run(self) -> None:
        """Runs until cancelled: one connection at a time, backoff between attempts."""
        if self.state.since is None:
            self.state.since = time.time()  # away since the relay started
        while True:
            answered = True
            try:
                await self._stream_once()
                error = "camera closed the stream"
            except StreamError as exc:
                error = str(exc)
                answered = exc.answered
            except ConnectionRefusedError as exc:
                self.state.refused += 1
                error = f"connection refused: {exc.strerror or exc}"
            except (ConnectionResetError, BrokenPipeError, WireError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            except OSError as exc:  # no route, host down: the board is not on the network
                error = f"{type(exc).__name__}: {exc}"
                answered = False
            except Exception as exc:  # never let a surprise end the camera's ingest
                log.exception("camera %s: unexpected ingest failure", self.name)
                error = f"internal error: {type(exc).__name__}: {exc}"
                answered = False
            if self.state.connected:
                self.state.disconnects += 1
            else:
                self.state.failed_attempts += 1
            self._set_disconnected(error)
            delay = self._backoff.next_delay(self._rng, ANSWERED_RETRY_MAX if answered else None)
            # A board that is away for hours must not fill the log: the first few, then 1 in 20.
            level = (
                logging.INFO
                if self.state.attempts <= 3 or self.state.attempts % 20 == 0
                else logging.DEBUG
            )
            log.log(
                level,
                "camera %s: %s; attempt %d, reconnecting in %.1f s",
                self.name,
                error,
                self.state.attempts,
                delay,
            )
            await asyncio.sleep(delay)

    def _set_connected(self) -> None:
        st = self.state
        if not st.connected:
            st.connected = True
            st.since = time.time()
            st.attempts = 0
            st.last_error = None
            self._backoff.reset()
            log.info("camera %s: streaming", self.name)
            if self._on_state:
                self._on_state(st)

    def _set_disconnected(self, error: str) -> None:
        st = self.state
        st.last_error = error
        st.attempts += 1
        if st.connected:
            st.connected = False
            st.since = time.time()
            if self._on_state:
                self._on_state(st)

    async def _stream_once(self) -> None:
        cfg = self.cfg
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation
        # that arrives as the connection completes, and the camera then never stops.
        try:
            async with asyncio.timeout(cfg.connect_timeout):
                reader, writer = await asyncio.open_connection(self._host, self._port)
        except TimeoutError as exc:
            self.state.connect_timeouts += 1
            raise StreamError(
                f"connect to {self._host}:{self._port} timed out", answered=False
            ) from exc
        self.state.connections += 1
        try:
            request = (
                f"GET {self._path} HTTP/1.1\r\nHost: {self._host_header}\r\n"
                "Accept: multipart/x-mixed-replace, image/jpeg\r\n"
                "User-Agent: esp32-relay\r\nConnection: keep-alive\r\n\r\n"
            )
            writer.write(request.encode("latin-1"))
            await writer.drain()
            await self._read_stream(reader)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()

    async def _read_stream(self, reader: asyncio.StreamReader) -> None:
        response = ResponseReader()
        self._parser = None
        try:
            await self._read_parts(reader, response)
        finally:
            if self._parser is not None:
                self._fold_parser_stats(self._parser)
                self._parser = None

    async def _read_parts(self, reader: asyncio.StreamReader, response: ResponseReader) -> None:
        cfg = self.cfg
        last_frame = time.monotonic()
        while True:
            # Wait for bytes, but never longer than the stall watchdog allows.
            remaining = cfg.stall_timeout - (time.monotonic() - last_frame)
            if remaining <= 0:
                self.state.stalls += 1
                raise StreamError(f"no complete frame for {cfg.stall_timeout:g} s", answered=False)
            try:
                async with asyncio.timeout(min(cfg.read_timeout, remaining)):
                    data = await reader.read(READ_SIZE)
            except TimeoutError:
                continue  # loop re-checks the stall watchdog
            now = time.perf_counter()
            if not data:
                return
            self.state.bytes += len(data)
            body = response.feed(data)
            if self._parser is None:
                if not response.head_complete:
                    continue
                if response.status is not None and response.status >= 400:
                    self.state.http_errors += 1
                    raise StreamError(f"camera answered HTTP {response.status}")
                boundary = boundary_from_content_type(response.headers.get("content-type", ""))
                self._parser = MultipartParser(boundary, max_frame_size=cfg.max_frame_size)
            if not body:
                continue
            for part in self._parser.feed(body):
                last_frame = time.monotonic()
                self._seq += 1
                jpeg = JpegFrame(part.data, self._seq, now, part.timestamp)
                self.last_jpeg = jpeg
                self.state.frames += 1
                self.state.fps_in.tick(last_frame)
                self._set_connected()
                self._on_frame(jpeg)
            if response.ended:
                return

    def _fold_parser_stats(self, parser: MultipartParser) -> None:
        """Parsers live one connection; the camera keeps lifetime totals."""
        st, ps = self.state, parser.stats
        st.dropped_invalid += ps.dropped_invalid
        st.dropped_oversize += ps.dropped_oversize
        st.garbage_bytes += ps.garbage_bytes

    def counters(self) -> dict[str, int]:
        st = self.state
        live = self._parser.stats if self._parser is not None else None
        return {
            "connections": st.connections,
            "disconnects": st.disconnects,
            "failed_attempts": st.failed_attempts,
            "refused": st.refused,
            "connect_timeouts": st.connect_timeouts,
            "http_errors": st.http_errors,
            "stalls": st.stalls,
            "attempts": st.attempts,
            "frames": st.frames,
            "bytes": st.bytes,
            "dropped_invalid": st.dropped_invalid + (live.dropped_invalid if live else 0),
            "dropped_oversize": st.dropped_oversize + (live.dropped_oversize if live else 0),
            "garbage_bytes": st.garbage_bytes + (live.garbage_bytes if live else 0),
        }
