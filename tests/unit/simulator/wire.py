"""Talking to the simulated board over real sockets on 127.0.0.1, byte by byte."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator

import cv2
import numpy as np

from relay.simulator import SimulatedCamera, SimulatorOptions

BOUNDARY_CHUNK = b"\r\n--123456789000000000000987654321\r\n"


STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: multipart/x-mixed-replace;boundary=123456789000000000000987654321\r\n"
    b"Transfer-Encoding: chunked\r\n"
    b"Access-Control-Allow-Origin: *\r\n"
    b"X-Framerate: 60\r\n"
    b"\r\n"
)


PART_RE = re.compile(
    rb"Content-Type: image/jpeg\r\nContent-Length: (\d+)\r\nX-Timestamp: (\d+)\.(\d{6})\r\n\r\n"
)


OK_EMPTY = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 0\r\n"
    b"Access-Control-Allow-Origin: *\r\n\r\n"
)


NOT_FOUND = (
    b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 29\r\n\r\n"
    b"Nothing matches the given URI"
)


SERVER_ERROR = (
    b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\nContent-Length: 42\r\n\r\n"
    b"Server has encountered an unexpected error"
)


TIMEOUT = 5.0


def options(**kw: object) -> SimulatorOptions:
    base: dict[str, object] = {"control_port": 0, "stream_port": 0, "capture_led_delay": 0.0}
    base.update(kw)
    return SimulatorOptions(**base)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def simulator(**kw: object) -> AsyncIterator[SimulatedCamera]:
    cam = SimulatedCamera(options(**kw))
    await cam.start()
    try:
        yield cam
    finally:
        await cam.stop()


class StreamClient:
    """Reads /stream byte by byte, checking the chunked layout strictly."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, cam: SimulatedCamera, path: str = "/stream") -> StreamClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", cam.stream_port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: cam\r\n\r\n".encode())
        await writer.drain()
        return cls(reader, writer)

    async def head(self) -> bytes:
        return await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), TIMEOUT)

    async def chunk(self) -> bytes:
        line = await asyncio.wait_for(self.reader.readuntil(b"\r\n"), TIMEOUT)
        size = int(line[:-2], 16)
        assert line == f"{size:x}\r\n".encode(), line  # lowercase hex, no extensions
        data = await asyncio.wait_for(self.reader.readexactly(size), TIMEOUT)
        assert await asyncio.wait_for(self.reader.readexactly(2), TIMEOUT) == b"\r\n"
        return data

    async def frame(self) -> tuple[bytes, float, float]:
        """One frame: (jpeg, X-Timestamp, arrival time), checking the three chunks."""
        assert await self.chunk() == BOUNDARY_CHUNK
        part = await self.chunk()
        m = PART_RE.fullmatch(part)
        assert m is not None, part
        jpeg = await self.chunk()
        arrived = time.time()
        assert len(jpeg) == int(m.group(1))
        return jpeg, int(m.group(2)) + int(m.group(3)) / 1e6, arrived

    def close(self) -> None:
        self.writer.close()


async def http_exchange(
    cam: SimulatedCamera, raw: bytes, port: int | None = None, check_closed: bool = True
) -> tuple[bytes, bytes, bool]:
    """Send one raw request; return (head, body, whether the server closed after it)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port or cam.control_port)
    try:
        writer.write(raw)
        await writer.drain()
        head, body = await read_response(reader)
        closed = await is_closed(reader) if check_closed else False
        return head, body, closed
    finally:
        writer.close()


async def read_response(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    m = re.search(rb"\r\nContent-Length: (\d+)\r\n", head)
    assert m is not None, head
    body = await asyncio.wait_for(reader.readexactly(int(m.group(1))), TIMEOUT)
    return head, body


async def is_closed(reader: asyncio.StreamReader, wait: float = 0.3) -> bool:
    try:
        data = await asyncio.wait_for(reader.read(1), wait)
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    assert data == b"", data
    return True


async def get(cam: SimulatedCamera, target: str) -> tuple[bytes, bytes]:
    request = f"GET {target} HTTP/1.1\r\nHost: cam\r\n\r\n".encode()
    head, body, _ = await http_exchange(cam, request, check_closed=False)
    return head, body


def decode(jpeg: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None
    return img
