"""Camera ingest on its own: backoff, failure classes and counters, over real sockets."""

from __future__ import annotations

import asyncio
import random
import time

import numpy as np

from relay.camera import ANSWERED_RETRY_MAX, Backoff, CameraIngest
from relay.config import CameraConfig
from relay.framecode import read_code
from relay.pipeline import JpegFrame
from relay.placeholder import (
    DEFAULT_SIZE,
    PLACEHOLDER_CODE,
    AwayInfo,
    Placeholder,
    banner_text,
)


def test_backoff_grows_with_jitter_caps_and_resets() -> None:
    rng = random.Random(7)
    b = Backoff(0.2, 10.0)
    delays = [b.next_delay(rng) for _ in range(12)]
    assert all(0.2 <= d <= 10.0 for d in delays)
    assert max(delays[:2]) <= 0.4  # 0.2, then at most 0.4
    assert max(delays[8:]) > 2.0  # grown towards the cap
    assert len(set(delays)) == len(delays)  # jittered
    b.reset()
    assert b.next_delay(rng) == 0.2
    # A board that answers is retried soon, however many attempts failed.
    assert all(b.next_delay(rng, ANSWERED_RETRY_MAX) <= ANSWERED_RETRY_MAX for _ in range(50))


def test_banner_says_what_happened_and_since_when() -> None:
    since = time.mktime((2026, 1, 2, 3, 4, 5, 0, 0, -1))
    assert banner_text(AwayInfo(False, 3, since)) == (
        "camera offline, reconnecting, attempt 3, since 03:04:05"
    )
    assert banner_text(AwayInfo(True, 0, since)) == "camera not sending, waiting, since 03:04:05"


def test_placeholder_is_the_dimmed_last_frame_with_a_marked_code() -> None:
    p = Placeholder()
    dark = p.render(AwayInfo(False, 1, time.time()))
    assert dark.shape == (DEFAULT_SIZE[1], DEFAULT_SIZE[0], 3)
    assert read_code(dark) == PLACEHOLDER_CODE
    assert int(dark[-20:].mean()) < 40  # dark apart from the banner
    banner_row = dark[dark.shape[0] // 2]
    assert banner_row.max() == 255  # white text across the middle

    last = np.full((240, 320, 3), 200, np.uint8)
    p.remember(last)
    img = p.render(AwayInfo(False, 2, time.time()))
    assert img.shape == last.shape  # the camera's size: the encoder is kept
    assert read_code(img) == PLACEHOLDER_CODE
    assert 60 <= int(img[-10:].mean()) <= 80  # 200 dimmed to about a third
    assert (last == 200).all()  # the remembered frame is never written to


async def test_refused_connections_are_retried_quickly_and_counted(unused_tcp_port: int) -> None:
    cfg = CameraConfig(stream_url=f"http://127.0.0.1:{unused_tcp_port}/stream")
    ingest = CameraIngest(cfg, lambda _frame: None)
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
    ingest = CameraIngest(CameraConfig(stream_url=f"http://127.0.0.1:{port}/stream"), frames.append)
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
    cfg = CameraConfig(stream_url=f"http://127.0.0.1:{port}/stream", stall_timeout=0.5)
    ingest = CameraIngest(cfg, lambda _frame: None)
    task = asyncio.create_task(ingest.run())
    try:
        await asyncio.sleep(1.2)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        server.close()
    assert ingest.counters()["stalls"] >= 1
    assert ingest.state.last_error == "no complete frame for 0.5 s"
