"""The board's stream server (port 81): ``/stream``, one client at a time, with the stream faults.

The stream handler of the sketch loops forever inside its request, so like the board
this serves one client at a time: a second client is accepted but answered only after
the first leaves; past a small backlog, further clients are reset. The multipart body
goes out as HTTP chunks, the way ``httpd_resp_send_chunk`` writes them.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable

from .faults import Faults, corrupt_jpeg
from .httpd import (
    Connections,
    Listener,
    chunk,
    chunked_head,
    http_error,
    next_request,
    reset,
    x_timestamp,
)
from .options import SimulatorOptions

BOUNDARY = "123456789000000000000987654321"
STREAM_CONTENT_TYPE = f"multipart/x-mixed-replace;boundary={BOUNDARY}"
STREAM_BOUNDARY = f"\r\n--{BOUNDARY}\r\n".encode()
STREAM_PART = "Content-Type: image/jpeg\r\nContent-Length: {}\r\nX-Timestamp: {}\r\n\r\n"
LEGACY_STREAM_PART = "Content-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n"

Render = Callable[[float], Awaitable[bytes]]  # a stream frame for its send moment


class StreamServer(Listener):
    """Serves ``/stream``; ``render`` draws each frame, ``reboot`` is the board's brownout."""

    def __init__(
        self,
        options: SimulatorOptions,
        render: Render,
        reboot: Callable[[float], None],
        render_lead: Callable[[], float],
        running: Callable[[], bool],
    ) -> None:
        self.options = options
        self._render = render
        self._reboot = reboot
        self._render_lead = render_lead
        self._running = running
        self._rng = random.Random(options.faults.seed)
        self._server: asyncio.Server | None = None
        self.port = options.stream_port
        self.connections = Connections()
        self._slot = asyncio.Lock()
        self._waiting = 0
        self.frames_sent = 0
        self.clients_served = 0
        self.clients_waited = 0
        self.clients_refused = 0

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def serve() -> None:
            request = await next_request(reader, writer)
            if request is None:
                return
            if self._slot.locked():
                # The board's httpd is stuck in the stream handler: whatever this client
                # asked waits in the listen backlog, or is reset when the backlog is full.
                if self._waiting >= self.options.stream_backlog:
                    self.clients_refused += 1
                    reset(writer)
                    return
                self.clients_waited += 1
            self._waiting += 1
            try:
                await self._slot.acquire()
            finally:
                self._waiting -= 1
            try:
                if request.path != "/stream":
                    writer.write(http_error(404))
                elif request.method != "GET":
                    writer.write(http_error(405))
                else:
                    self.clients_served += 1
                    await self._stream(writer)
                    return
                await writer.drain()
            finally:
                self._slot.release()

        await self.connections.serve(writer, serve, self._running)

    async def _stream(self, writer: asyncio.StreamWriter) -> None:
        opts = self.options
        faults = opts.faults
        loop = asyncio.get_running_loop()
        if faults.stream_http_500:
            writer.write(http_error(500))
            await writer.drain()
            return
        head = chunked_head(
            None if opts.no_status_line else "200 OK",
            STREAM_CONTENT_TYPE,
            (("Access-Control-Allow-Origin", "*"), ("X-Framerate", "60")),
        )
        period = 1.0 / opts.fps
        next_send = loop.time() + self._render_lead()
        index = 0
        while True:
            index += 1
            faults = opts.faults  # consulted per frame: faults can be switched while streaming
            if Faults.hits(faults.stall_every, index):
                await asyncio.sleep(faults.stall_seconds)
                now = loop.time()
                if next_send < now:
                    next_send += period * math.ceil((now - next_send) / period)
            # Start rendering just early enough that the frame is ready at its send
            # moment, and stamp it with that moment.
            delay = next_send - self._render_lead() - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            send_wall = time.time() + max(0.0, next_send - loop.time())
            jpeg = await self._render(send_wall)
            delay = next_send - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            data, drop = self._frame_bytes(jpeg, send_wall, index, faults)
            if head:
                data, head = head + data, b""
            await self._send(writer, data, faults.drip_bytes_per_second)
            if drop:
                # FIN after the half frame: a reset would let the kernel discard
                # whatever the client has not read yet, and the cut would land anywhere.
                return
            self.frames_sent += 1
            if Faults.hits(faults.reboot_every, index):
                self._reboot(faults.reboot_seconds)
                return
            # Send times stay on one grid (no drift). After falling behind (slow client,
            # busy machine) skip to the next slot on it: late frames are dropped, never
            # sent in a burst.
            next_send += period
            now = loop.time()
            if next_send < now:
                next_send += period * math.ceil((now - next_send) / period)

    def _frame_bytes(
        self, jpeg: bytes, send_wall: float, index: int, faults: Faults
    ) -> tuple[bytes, bool]:
        """The chunks of one frame, with this frame's faults applied; and whether to drop."""
        if Faults.hits(faults.corrupt_every, index):
            jpeg = corrupt_jpeg(jpeg, self._rng)
        if Faults.hits(faults.truncate_every, index):
            jpeg = jpeg[: max(4, len(jpeg) * 2 // 3)]
        length = len(jpeg)
        if Faults.hits(faults.mislength_every, index):
            hit = index // faults.mislength_every
            length += faults.mislength_bytes if hit % 2 else -faults.mislength_bytes
            length = max(0, length)
        out = []
        if Faults.hits(faults.garbage_every, index):
            out.append(chunk(self._rng.randbytes(max(1, faults.garbage_bytes))))
        if self.options.legacy_stream_format:
            out.append(chunk(LEGACY_STREAM_PART.format(length).encode()))
        else:
            out.append(chunk(STREAM_BOUNDARY))
            out.append(chunk(STREAM_PART.format(length, x_timestamp(send_wall)).encode()))
        if Faults.hits(faults.drop_every, index):
            # The chunk announces the whole JPEG; the connection dies halfway through it.
            out.append(f"{len(jpeg):x}\r\n".encode() + jpeg[: len(jpeg) // 2])
            return b"".join(out), True
        out.append(chunk(jpeg))
        if self.options.legacy_stream_format:
            out.append(chunk(STREAM_BOUNDARY))
        return b"".join(out), False

    async def _send(self, writer: asyncio.StreamWriter, data: bytes, rate: int) -> None:
        if writer.transport.is_closing():
            raise ConnectionResetError("client went away")
        if rate <= 0:
            writer.write(data)
            await writer.drain()
            return
        step = max(1, rate // 50)  # 50 small writes a second
        for pos in range(0, len(data), step):
            if self.options.faults.drip_bytes_per_second <= 0:
                # The drip was switched off mid-frame: the rest goes out at once.
                writer.write(data[pos:])
                await writer.drain()
                return
            writer.write(data[pos : pos + step])
            await writer.drain()
            await asyncio.sleep(step / rate)
