"""The simulated board's stream server: bytes on the wire, pacing, one client at a time."""

from __future__ import annotations

import asyncio
import re

import cv2
import numpy as np
import pytest

from relay.simulator import SimulatedCamera
from relay.video import framecode

from .wire import (
    BOUNDARY_CHUNK,
    NOT_FOUND,
    STREAM_HEAD,
    StreamClient,
    decode,
    http_exchange,
    is_closed,
    simulator,
)


async def test_stream_bytes_headers_and_chunks(cam: SimulatedCamera) -> None:
    client = await StreamClient.open(cam)
    try:
        assert await client.head() == STREAM_HEAD
        counters = []
        for _ in range(6):
            jpeg, stamp, arrived = await client.frame()
            assert jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9"
            img = decode(jpeg)
            assert img.shape == (600, 800, 3)
            send_ms, counter = framecode.read_code(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
            counters.append(counter)
            # The code holds the send moment: within a second of now, not in the future.
            lag = framecode.elapsed_ms(send_ms, int(arrived * 1000))
            assert -5 <= lag < 1000, lag
            # X-Timestamp and the code tell the same moment.
            assert abs(framecode.elapsed_ms(send_ms, int(stamp * 1000))) <= 1
        assert counters == list(range(counters[0], counters[0] + 6))
    finally:
        client.close()
    assert cam.stream_server.frames_sent >= 6


async def test_frames_are_rendered_for_their_send_moment(cam: SimulatedCamera) -> None:
    client = await StreamClient.open(cam)
    try:
        await client.head()
        lags = []
        for _ in range(12):
            jpeg, _, arrived = await client.frame()
            send_ms, _ = framecode.read_code(decode(jpeg))
            lags.append(framecode.elapsed_ms(send_ms, int(arrived * 1000)))
        # Stamped just before the bytes left: neither stale by a render time nor future.
        assert min(lags) >= -3, lags
        assert sorted(lags)[len(lags) // 2] <= 20, lags
    finally:
        client.close()


async def test_pacing_follows_a_monotonic_schedule() -> None:
    async with simulator(fps=25.0) as cam:
        client = await StreamClient.open(cam)
        try:
            await client.head()
            stamps = [(await client.frame())[1] for _ in range(26)]
        finally:
            client.close()
    intervals = np.diff(stamps)
    assert abs(float(np.median(intervals)) - 0.040) < 0.002, intervals
    # Every send time lies on one 40 ms grid: no drift accumulates. (On a busy machine a
    # late frame may miss its slot; the next one is back on the grid.)
    offsets = [(s - stamps[0]) / 0.040 for s in stamps]
    on_grid = [abs(o - round(o)) * 40 < 2 for o in offsets]
    assert sum(on_grid) >= 23, offsets
    assert on_grid[-1] and round(offsets[-1]) <= 27, offsets


async def test_consecutive_frames_differ(cam: SimulatedCamera) -> None:
    client = await StreamClient.open(cam)
    try:
        await client.head()
        a = decode((await client.frame())[0]).astype(np.int16)
        b = decode((await client.frame())[0]).astype(np.int16)
    finally:
        client.close()
    below_code = slice(framecode.block_height(800), None)
    assert np.abs(a[below_code] - b[below_code]).max() > 100


async def test_second_stream_client_waits_until_the_first_leaves(cam: SimulatedCamera) -> None:
    first = await StreamClient.open(cam)
    await first.head()
    await first.frame()
    second = await StreamClient.open(cam)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(second.reader.read(1), 0.5)
    assert cam.stream_server.clients_waited == 1
    first.close()
    try:
        assert await second.head() == STREAM_HEAD
        jpeg, _, _ = await second.frame()
        assert decode(jpeg).shape == (600, 800, 3)
    finally:
        second.close()
    assert cam.stream_server.clients_served == 2


async def test_stream_clients_beyond_the_backlog_are_refused() -> None:
    async with simulator(stream_backlog=1) as cam:
        first = await StreamClient.open(cam)
        await first.head()
        second = await StreamClient.open(cam)
        await asyncio.sleep(0.1)
        third = await StreamClient.open(cam)
        try:
            assert await is_closed(third.reader, wait=2.0)
            assert cam.stream_server.clients_refused == 1
            assert cam.stream_server.clients_waited == 1
        finally:
            for c in (first, second, third):
                c.close()


async def test_stream_server_knows_only_stream(cam: SimulatedCamera) -> None:
    head, body, closed = await http_exchange(
        cam, b"GET /status HTTP/1.1\r\n\r\n", port=cam.stream_port
    )
    assert head + body == NOT_FOUND
    assert closed


async def test_legacy_stream_format() -> None:
    async with simulator(legacy_stream_format=True) as cam:
        client = await StreamClient.open(cam)
        try:
            assert await client.head() == STREAM_HEAD
            for _ in range(2):
                part = await client.chunk()
                m = re.fullmatch(
                    rb"Content-Type: image/jpeg\r\nContent-Length: (\d+)\r\n\r\n", part
                )
                assert m is not None, part
                jpeg = await client.chunk()
                assert len(jpeg) == int(m.group(1)) and jpeg[:2] == b"\xff\xd8"
                assert await client.chunk() == BOUNDARY_CHUNK
        finally:
            client.close()


async def test_no_status_line() -> None:
    async with simulator(no_status_line=True) as cam:
        client = await StreamClient.open(cam)
        try:
            assert await client.head() == STREAM_HEAD[len(b"HTTP/1.1 200 OK\r\n") :]
            await client.frame()
        finally:
            client.close()
