"""``esp32-relay discover``: simulated boards on the namespace's addresses, found by a scan
of the range and by mDNS; another device's HTTP server is not mistaken for one."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
import tomllib
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web

from relay.config import from_mapping
from relay.simulator import SimulatedCamera, SimulatorOptions
from relay.testing.env import netns_missing_reason, skip_or_fail

pytestmark = pytest.mark.network
BOARDS = ("10.213.47.22", "10.213.47.23")
OTHER = "10.213.47.24"  # a printer, say: HTTP with other JSON at /status


@contextlib.contextmanager
def addresses(*addrs: str) -> Iterator[None]:
    """More addresses on the namespace's t0, for as long as the test needs them."""
    reason = netns_missing_reason()
    if reason:
        skip_or_fail(reason)
    added = []
    try:
        for a in addrs:
            subprocess.run(["ip", "addr", "add", f"{a}/24", "dev", "t0"], check=True)
            added.append(a)
        yield
    finally:
        for a in added:
            subprocess.run(["ip", "addr", "del", f"{a}/24", "dev", "t0"], check=False)


@contextlib.asynccontextmanager
async def devices() -> AsyncIterator[None]:
    async with contextlib.AsyncExitStack() as stack:
        for i, addr in enumerate(BOARDS):
            options = SimulatorOptions(
                host=addr, control_port=80, stream_port=81, fps=2,
                mdns_name="esp32-cam-porch" if i == 0 else None,
            )  # fmt: skip
            await stack.enter_async_context(SimulatedCamera(options))

        async def printer(_request: web.Request) -> web.Response:
            return web.json_response({"toner": 80, "quality": 1})

        app = web.Application()
        app.router.add_get("/status", printer)
        runner = web.AppRunner(app)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, OTHER, 80).start()
        yield


async def _discover(*args: str) -> tuple[int, str, float]:
    start = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "relay", "discover", *args,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, _err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), time.monotonic() - start


async def test_a_scan_and_mdns_find_the_boards_and_only_them() -> None:
    with addresses(*BOARDS, OTHER):
        async with devices():
            code, out, took = await _discover(
                "--scan", "10.213.47.0/24", "--timeout", "1", "--mdns-seconds", "2"
            )
            assert code == 0, out
            cfg = from_mapping(tomllib.loads(out))  # the blocks are ready configuration
            found = {c.stream.url: c.name for c in cfg.cameras}
            assert found == {
                "http://10.213.47.22:81/stream": "esp32-cam-porch",  # its mDNS name
                "http://10.213.47.23:81/stream": "board-10.213.47.23",
            }
            assert "found by mdns at 10.213.47.22" in out and "framesize 11" in out
            assert took < 30  # 253 addresses, 64 at a time, 1 s each at most

            code, out, _took = await _discover("--mdns-seconds", "2")  # mDNS alone
            assert code == 0
            assert [c.name for c in from_mapping(tomllib.loads(out)).cameras] == ["esp32-cam-porch"]
    code, out, _took = await _discover("--scan", "10.213.47.0/16")
    assert code == 2
