"""HTTP as ESP-IDF's ``esp_http_server`` speaks it, byte for byte, for the simulated board.

Request reading with the httpd's limits and answers, responses with its headers, the
chunked head ``httpd_resp_send_chunk`` writes, its query parsing, and the open
connections of a server, so that a reboot or a stop can cut them.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .options import SimulatorOptions

HTTPD_TYPE_TEXT = "text/html"

# httpd_resp_send_err: status line and body of each error.
HTTP_ERRORS: MappingProxyType[int, tuple[str, str]] = MappingProxyType(
    {
        400: ("400 Bad Request", "Bad request syntax"),
        404: ("404 Not Found", "Nothing matches the given URI"),
        405: ("405 Method Not Allowed", "Specified method is invalid for this resource"),
        414: ("414 URI Too Long", "URI is too long"),
        431: ("431 Request Header Fields Too Large", "Header fields are too long"),
        500: ("500 Internal Server Error", "Server has encountered an unexpected error"),
        505: ("505 Version Not Supported", "HTTP version not supported by server"),
    }
)

MAX_URI_LEN = 512  # CONFIG_HTTPD_MAX_URI_LEN
MAX_REQ_HDR_LEN = 1024  # CONFIG_HTTPD_MAX_REQ_HDR_LEN
MAX_BODY = 64 * 1024  # GET bodies are read and ignored up to this size


def http_response(
    status: str, content_type: str, body: bytes, headers: Sequence[tuple[str, str]] = ()
) -> bytes:
    """``httpd_resp_send``: essential headers, then those set by the handler."""
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode("latin-1") + body


def http_error(code: int) -> bytes:
    """``httpd_resp_send_err`` with its default message."""
    status, message = HTTP_ERRORS[code]
    return http_response(status, HTTPD_TYPE_TEXT, message.encode())


def chunked_head(
    status: str | None, content_type: str, headers: Sequence[tuple[str, str]] = ()
) -> bytes:
    """The header block ``httpd_resp_send_chunk`` sends before the first chunk.

    ``status`` None leaves out the status line, as some old builds did.
    """
    head = "" if status is None else f"HTTP/1.1 {status}\r\n"
    head += f"Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode("latin-1")


def chunk(data: bytes) -> bytes:
    """One HTTP chunk as ``httpd_resp_send_chunk`` writes it."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def x_timestamp(wall: float) -> str:
    sec = int(wall)
    return f"{sec}.{int((wall - sec) * 1_000_000):06d}"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str | None
    headers: dict[str, str]


class HttpError(Exception):
    """A request the server answers with an error and a closed socket."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """Read one request; None on a clean EOF before it. Raises HttpError if malformed."""
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise HttpError(400) from exc
    except asyncio.LimitOverrunError as exc:
        raise HttpError(414) from exc
    parts = line.decode("latin-1").strip("\r\n").split(" ")
    if len(parts) != 3 or not parts[0] or not parts[1].startswith("/"):
        raise HttpError(400)
    method, target, version = parts
    match = re.fullmatch(r"HTTP/(\d+)\.(\d+)", version)
    if match is None or not method.isalpha():
        raise HttpError(400)
    # esp_http_server's own test: it refuses a version only when neither digit is 1.
    if int(match.group(1)) != 1 and int(match.group(2)) != 1:
        raise HttpError(505)
    if len(target) > MAX_URI_LEN:
        raise HttpError(414)
    headers: dict[str, str] = {}
    total = 0
    while True:
        try:
            hline = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            raise HttpError(400) from exc
        except asyncio.LimitOverrunError as exc:
            raise HttpError(431) from exc
        total += len(hline)
        if total > MAX_REQ_HDR_LEN:
            raise HttpError(431)
        text = hline.decode("latin-1").rstrip("\r\n")
        if not text:
            break
        name, sep, value = text.partition(":")
        if not sep or not name.strip():
            raise HttpError(400)
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError as exc:
            raise HttpError(400) from exc
        if not 0 <= length <= MAX_BODY:
            raise HttpError(400)
        try:
            await reader.readexactly(length)
        except asyncio.IncompleteReadError as exc:
            raise HttpError(400) from exc
    path, qmark, query = target.partition("?")
    query = query.partition("#")[0]
    return Request(method, path, query if qmark else None, headers)


async def next_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> Request | None:
    """The client's next request; None when it closed, or sent one the board refuses (that
    one is answered with the board's error, as esp_http_server does)."""
    try:
        return await read_request(reader)
    except HttpError as err:
        writer.write(http_error(err.code))
        await writer.drain()
        return None


@dataclass
class Response:
    data: bytes
    keep_open: bool = True


def query_value(query: str, key: str, size: int = 32) -> str | None:
    """``httpd_query_key_value``: the value of ``key`` or None if absent or too long.

    Mirrors esp_http_server: keys match case-insensitively, values are not
    URL-decoded, a value that does not fit ``size`` bytes (with its NUL) is
    an error like an absent one.
    """
    pos = 0
    while pos < len(query):
        eq = query.find("=", pos)
        if eq < 0:
            return None
        name = query[pos:eq]
        if len(name) != len(key) or name.lower() != key.lower():
            amp = query.find("&", eq)
            if amp < 0:
                return None
            pos = amp + 1
            continue
        amp = query.find("&", eq + 1)
        value = query[eq + 1 :] if amp < 0 else query[eq + 1 : amp]
        return value if len(value) + 1 <= size else None
    return None


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST, the way a board that reboots or crashes leaves."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
    writer.transport.abort()


def ok_empty() -> Response:
    return Response(
        http_response("200 OK", HTTPD_TYPE_TEXT, b"", (("Access-Control-Allow-Origin", "*"),))
    )


class Connections:
    """A server's open connections (their handler tasks), to cut them on a reboot or a stop."""

    def __init__(self) -> None:
        self._writers: dict[asyncio.Task[Any], asyncio.StreamWriter] = {}

    def __len__(self) -> int:
        return len(self._writers)

    async def serve(
        self,
        writer: asyncio.StreamWriter,
        handle: Callable[[], Awaitable[None]],
        running: Callable[[], bool],
    ) -> None:
        """Run ``handle`` for this connection, then close it (abort it when stopping)."""
        task = asyncio.current_task()
        assert task is not None
        self._writers[task] = writer
        try:
            # Cancelled only by cut(). Ending normally matters: on Python 3.11 asyncio's
            # stream callback logs an error for a cancelled handler task.
            with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
                await handle()
        finally:
            self._writers.pop(task, None)
            if running():
                writer.close()  # FIN once the (already drained) buffer is out
            else:
                writer.transport.abort()  # stopping: nothing may linger

    async def cut(self, *, reset_first: bool) -> None:
        """End every connection but the caller's own; ``reset_first`` sends a TCP RST."""
        me = asyncio.current_task()
        tasks = [t for t in self._writers if t is not me]
        for task in tasks:
            if reset_first:
                reset(self._writers[task])
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class Listener:
    """One of the board's two TCP servers: where it listens, and stopping it.

    Subclasses set ``options`` and ``port`` and serve each connection in ``_on_client``.
    """

    options: SimulatorOptions
    port: int
    _server: asyncio.Server | None = None

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def listen(self) -> None:
        self._server = await asyncio.start_server(
            self._on_client, self.options.host, self.port, limit=8192
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def wait_closed(self) -> None:
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def listening(self) -> bool:
        return self._server is not None and self._server.is_serving()
