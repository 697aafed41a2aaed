"""The simulated board's life: stop, reboot, a late boot."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest

from relay.simulator import Faults, SimulatedCamera

from .wire import (
    TIMEOUT,
    StreamClient,
    get,
    is_closed,
    options,
    read_response,
    simulator,
)


async def test_stop_leaves_no_tasks_and_closes_connections(
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = asyncio.all_tasks()
    cam = SimulatedCamera(options())
    await cam.start()
    streaming = await StreamClient.open(cam)
    await streaming.head()
    waiting = await StreamClient.open(cam)
    reader, writer = await asyncio.open_connection("127.0.0.1", cam.control_port)
    writer.write(b"GET /status HTTP/1.1\r\n\r\n")
    await read_response(reader)  # keep-alive: the connection stays open
    await asyncio.sleep(0.1)
    await cam.stop()
    assert asyncio.all_tasks() == before
    await asyncio.sleep(0.05)  # let transports and callbacks finish
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    for r in (streaming.reader, waiting.reader, reader):
        with contextlib.suppress(ConnectionError):
            await asyncio.wait_for(r.read(), TIMEOUT)
        assert r.at_eof() or r.exception() is not None
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", cam.control_port)
    for w in (streaming.writer, waiting.writer, writer):
        w.close()


async def test_fault_reboot_refuses_then_comes_back_with_defaults() -> None:
    async with simulator(faults=Faults(reboot_every=2, reboot_seconds=0.6)) as cam:
        await get(cam, "/control?var=quality&val=30")
        client = await StreamClient.open(cam)
        try:
            await client.head()
            await client.frame()
            await client.frame()
            assert await is_closed(client.reader, wait=2.0)
        finally:
            client.close()
        await asyncio.sleep(0.05)
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", cam.control_port)
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", cam.stream_port)
        await asyncio.sleep(0.8)
        assert cam.is_up and cam.reboots == 1
        _, body = await get(cam, "/status")
        assert json.loads(body)["quality"] == 12


async def test_fault_refuse_first_seconds() -> None:
    async with simulator(faults=Faults(refuse_first_seconds=0.4)) as cam:
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", cam.control_port)
        await asyncio.sleep(0.6)
        head, _ = await get(cam, "/status")
        assert head.startswith(b"HTTP/1.1 200 OK")
