"""The faults of real boards, injected by the simulator, seen on the wire."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time

import cv2
import numpy as np
import pytest

from relay.simulator import Faults, SimulatedCamera
from relay.simulator.faults import corrupt_jpeg
from relay.simulator.scene import RenderSettings, SceneRenderer

from .wire import (
    BOUNDARY_CHUNK,
    OK_EMPTY,
    PART_RE,
    SERVER_ERROR,
    TIMEOUT,
    StreamClient,
    decode,
    http_exchange,
    read_response,
    simulator,
)


async def _control_reply(cam: SimulatedCamera, target: str) -> bytes | None:
    """The whole answer to one request on a fresh connection; None if it was reset unanswered."""
    reader, writer = await asyncio.open_connection("127.0.0.1", cam.control_port)
    try:
        writer.write(f"GET {target} HTTP/1.1\r\nHost: cam\r\n\r\n".encode())
        await writer.drain()
        try:
            head, body = await read_response(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        return head + body
    finally:
        writer.close()


async def test_fault_drop_mid_frame() -> None:
    async with simulator(faults=Faults(drop_every=3)) as cam:
        client = await StreamClient.open(cam)
        try:
            await client.head()
            await client.frame()
            await client.frame()
            assert await client.chunk() == BOUNDARY_CHUNK
            m = PART_RE.fullmatch(await client.chunk())
            assert m is not None
            line = await client.reader.readuntil(b"\r\n")
            assert int(line[:-2], 16) == int(m.group(1))
            rest = b""
            with contextlib.suppress(ConnectionError):
                rest = await asyncio.wait_for(client.reader.read(), TIMEOUT)
            assert 0 < len(rest) < int(m.group(1))
            assert rest[:2] == b"\xff\xd8"
        finally:
            client.close()
        assert cam.stream_server.frames_sent == 2


async def test_fault_stall() -> None:
    async with simulator(faults=Faults(stall_every=2, stall_seconds=0.5)) as cam:
        client = await StreamClient.open(cam)
        try:
            await client.head()
            arrivals = [(await client.frame())[2] for _ in range(3)]
        finally:
            client.close()
    assert arrivals[1] - arrivals[0] >= 0.45
    assert arrivals[2] - arrivals[1] < 0.2


async def test_fault_garbage_between_parts() -> None:
    async with simulator(faults=Faults(garbage_every=2, garbage_bytes=50)) as cam:
        client = await StreamClient.open(cam)
        try:
            await client.head()
            await client.frame()
            junk = await client.chunk()
            assert len(junk) == 50 and junk != BOUNDARY_CHUNK
            await client.frame()
        finally:
            client.close()


async def test_fault_corrupt_keeps_structure_damages_data() -> None:
    async with simulator(faults=Faults(corrupt_every=1)) as cam:
        client = await StreamClient.open(cam)
        try:
            await client.head()
            jpeg, _, _ = await client.frame()
        finally:
            client.close()
    assert jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9"
    img = SceneRenderer().image(RenderSettings(), 1_700_000_000.0, 1)
    clean = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 84])[1].tobytes()
    bad = corrupt_jpeg(clean, random.Random(3))
    assert len(bad) == len(clean) and bad != clean
    markers = [i for i, b in enumerate(clean) if b == 0xFF]
    assert [i for i, b in enumerate(bad) if b == 0xFF] == markers
    assert not np.array_equal(decode(bad), decode(clean))


async def test_fault_truncate() -> None:
    async with simulator(faults=Faults(truncate_every=2)) as cam:
        client = await StreamClient.open(cam)
        try:
            await client.head()
            whole, _, _ = await client.frame()
            cut, _, _ = await client.frame()  # frame() checks Content-Length == chunk size
            after, _, _ = await client.frame()
        finally:
            client.close()
    assert whole[-2:] == b"\xff\xd9" and after[-2:] == b"\xff\xd9"
    assert cut[:2] == b"\xff\xd8" and b"\xff\xd9" not in cut[-2:]
    assert len(cut) < 0.8 * len(whole)


async def test_fault_stream_http_500() -> None:
    async with simulator(faults=Faults(stream_http_500=True)) as cam:
        head, body, closed = await http_exchange(
            cam, b"GET /stream HTTP/1.1\r\n\r\n", port=cam.stream_port
        )
        assert head + body == SERVER_ERROR and closed


async def test_fault_slow_drip() -> None:
    async with simulator(framesize=1, faults=Faults(drip_bytes_per_second=20_000)) as cam:
        client = await StreamClient.open(cam)
        try:
            t0 = time.monotonic()
            await client.head()
            jpeg, _, _ = await client.frame()
            took = time.monotonic() - t0
        finally:
            client.close()
    # QQVGA: a few kB at 20 kB/s, in small pieces.
    assert took >= 0.8 * len(jpeg) / 20_000, (took, len(jpeg))


async def test_fault_control_500_applies_nothing() -> None:
    async with simulator(faults=Faults(control_500_every=2)) as cam:
        assert await _control_reply(cam, "/control?var=brightness&val=1") == OK_EMPTY
        assert await _control_reply(cam, "/control?var=brightness&val=2") == SERVER_ERROR
        assert (await _control_reply(cam, "/status") or b"").startswith(b"HTTP/1.1 200 OK")
        assert cam.status()["brightness"] == 1
        assert await _control_reply(cam, "/control?var=brightness&val=-1") == OK_EMPTY
        assert await _control_reply(cam, "/control?var=contrast&val=1") == SERVER_ERROR
        assert (cam.status()["brightness"], cam.status()["contrast"]) == (-1, 0)
        assert [(r.path, r.status) for r in cam.control_server.log] == [
            ("/control", 200),
            ("/control", 500),
            ("/status", 200),
            ("/control", 200),
            ("/control", 500),
        ]
        assert cam.control_server.log[0].query == "var=brightness&val=1"


async def test_fault_control_reset_counts_every_request() -> None:
    async with simulator(faults=Faults(control_reset_every=2)) as cam:
        assert await _control_reply(cam, "/control?var=awb&val=0") == OK_EMPTY
        assert await _control_reply(cam, "/status") is None
        assert await _control_reply(cam, "/control?var=awb_gain&val=0") == OK_EMPTY
        assert await _control_reply(cam, "/control?var=agc&val=0") is None
        status = cam.status()
        assert (status["awb"], status["awb_gain"], status["agc"]) == (0, 0, 1)
        assert [r.status for r in cam.control_server.log] == [200, None, 200, None]


async def test_fault_control_delay_holds_the_whole_control_server() -> None:
    async with simulator(faults=Faults(control_delay_every=1, control_delay_seconds=0.4)) as cam:
        t0 = time.monotonic()
        slow = asyncio.create_task(_control_reply(cam, "/control?var=quality&val=30"))
        await asyncio.sleep(0.05)
        status = await _control_reply(cam, "/status")  # waits: one request at a time
        took = time.monotonic() - t0
        assert await slow == OK_EMPTY
        assert status is not None and b'"quality":30' in status
        assert 0.38 <= took < 1.5


async def test_fault_control_outage_refuses_then_comes_back_with_settings() -> None:
    async with simulator(faults=Faults(control_outage_every=2, control_outage_seconds=0.5)) as cam:
        stream = await StreamClient.open(cam)
        await stream.head()
        await stream.frame()
        assert await _control_reply(cam, "/control?var=hmirror&val=1") == OK_EMPTY
        assert await _control_reply(cam, "/control?var=vflip&val=1") is None
        await asyncio.sleep(0.05)
        assert not cam.control_is_up and cam.control_server.outages == 1
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", cam.control_port)
        await stream.frame()  # the stream carries on
        deadline = time.monotonic() + 3
        while not cam.control_is_up and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert cam.control_is_up
        status = await _control_reply(cam, "/status")
        assert status is not None and b'"hmirror":1' in status  # settings kept
        assert cam.status()["hmirror"] == 1
        stream.close()
