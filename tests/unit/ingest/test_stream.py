"""The stream connection on its own: failure classes and counters, over real sockets."""

from __future__ import annotations

import asyncio

from relay.ingest.config import StreamConfig
from relay.ingest.jpeg import JpegFrame
from relay.ingest.stream import StreamConnection


async def test_refused_connections_are_retried_quickly_and_counted(unused_tcp_port: int) -> None:
    cfg = StreamConfig(url=f"http://127.0.0.1:{unused_tcp_port}/stream")
    ingest = StreamConnection("cam", cfg, lambda _frame: None)
    task = asyncio.create_task(ingest.run())
    await asyncio.sleep(2.0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    c = ingest.counters()
    # Up to 0.5 s between attempts: at least 4 in 2 s, never connected.
    assert c["refused"] >= 4 and c["failed_attempts"] == c["refused"]
    assert c["connections"] == 0 and ingest.state.connected is False
    assert ingest.state.attempts == c["refused"]
    assert ingest.state.last_error is not None and "refused" in ingest.state.last_error


async def test_http_errors_are_drops_and_one_connection_at_a_time() -> None:
    open_now = 0
    most = 0
    served = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_now, most, served
        open_now += 1
        served += 1
        most = max(most, open_now)
        try:
            await reader.readuntil(b"\r\n\r\n")
            status = (b"404 Not Found", b"503 Service Unavailable")[served % 2]
            writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            await asyncio.sleep(0.05)
        finally:
            writer.close()
            open_now -= 1

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    frames: list[JpegFrame] = []
    ingest = StreamConnection(
        "cam", StreamConfig(url=f"http://127.0.0.1:{port}/stream"), frames.append
    )
    task = asyncio.create_task(ingest.run())
    try:
        await asyncio.sleep(2.0)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        server.close()
        await server.wait_closed()
    c = ingest.counters()
    assert c["http_errors"] >= 4 and c["connections"] == c["http_errors"]
    assert most == 1  # never a second connection while one is open
    assert not frames
    assert ingest.state.last_error is not None and "HTTP" in ingest.state.last_error


async def test_a_silent_board_trips_the_stall_watchdog() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(5)  # accepts, then says nothing
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    cfg = StreamConfig(url=f"http://127.0.0.1:{port}/stream", stall_timeout=0.5)
    ingest = StreamConnection("cam", cfg, lambda _frame: None)
    task = asyncio.create_task(ingest.run())
    try:
        await asyncio.sleep(1.2)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        server.close()
    assert ingest.counters()["stalls"] >= 1
    assert ingest.state.last_error == "no complete frame for 0.5 s"
