"""``esp32-relay simulate``: options and output."""

from __future__ import annotations

import argparse
import asyncio
import re

import pytest

from relay.simulator.cli import add_arguments, options_from_args, run_simulator

from .wire import STREAM_HEAD, TIMEOUT, options


async def test_run_simulator_prints_urls_and_stops(capsys: pytest.CaptureFixture[str]) -> None:
    before = asyncio.all_tasks()
    task = asyncio.create_task(run_simulator(options()))
    url = None
    for _ in range(100):
        await asyncio.sleep(0.02)
        m = re.search(r"http://127\.0\.0\.1:(\d+)/stream", capsys.readouterr().out)
        if m:
            url = m
            break
    assert url is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", int(url.group(1)))
    writer.write(b"GET /stream HTTP/1.1\r\n\r\n")
    assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT) == STREAM_HEAD
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    writer.close()
    assert asyncio.all_tasks() == before


def test_command_line_options() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    opts = options_from_args(
        parser.parse_args(
            ["--port", "8000", "--framesize", "qvga", "--drop-every", "3", "--stream-500"]
        )
    )
    assert (opts.control_port, opts.stream_port) == (8000, 8001)  # stream on port + 1
    assert opts.framesize == 6
    assert opts.faults.drop_every == 3 and opts.faults.stream_http_500
    legacy = options_from_args(
        parser.parse_args(["--framesize", "QVGA", "--legacy-framesize-enum"])
    )
    assert legacy.framesize == 5 and legacy.stream_port == 81


def test_control_fault_command_line_options() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    opts = options_from_args(
        parser.parse_args(
            ["--control-500-every", "3", "--control-reset-every", "4", "--control-delay-every",
             "5", "--control-delay", "6.5", "--control-outage-every", "7",
             "--control-outage-seconds", "1.5"]
        )
    )  # fmt: skip
    f = opts.faults
    assert (f.control_500_every, f.control_reset_every, f.control_delay_every) == (3, 4, 5)
    assert (f.control_delay_seconds, f.control_outage_every, f.control_outage_seconds) == (
        6.5,
        7,
        1.5,
    )
    assert "control_500_every=3" in f.describe()
