"""Several cameras at once: each page, tile, WHEP session, snapshot and MJPEG stream shows
its own camera (its size, and frame codes in its own board's range); the grid in Chromium,
with an offline camera's tile showing its placeholder while the others play."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import numpy as np
import pytest
import simplejpeg
from playwright.async_api import Page

from relay.config import RelayConfig
from relay.simulator import SimulatedCamera, SimulatorOptions
from relay.testing.relay import RunningRelay, camera_at, running_relay
from relay.testing.whep import WhepViewer
from relay.video.config import LayersConfig
from relay.video.framecode import elapsed_ms, read_code
from relay.video.placeholder import PLACEHOLDER_CODE

pytestmark = pytest.mark.network
TIMEOUT = aiohttp.ClientTimeout(total=20)
# name -> (framesize number, width, height); each board counts from its own range.
BOARDS = {"porch": (6, 320, 240), "garage": (8, 400, 296), "hall": (10, 640, 480)}
RANGE = 20000


def board_of(counter: int) -> str:
    return list(BOARDS)[counter // RANGE]


@contextlib.asynccontextmanager
async def three_cameras() -> AsyncIterator[tuple[RunningRelay, dict[str, SimulatedCamera]]]:
    sims: dict[str, SimulatedCamera] = {}
    async with contextlib.AsyncExitStack() as stack:
        for i, (name, (framesize, _w, _h)) in enumerate(BOARDS.items()):
            options = SimulatorOptions(
                control_port=0, stream_port=0, fps=10, framesize=framesize, first_frame=i * RANGE
            )
            sims[name] = await stack.enter_async_context(SimulatedCamera(options))
        # One encoding each: these tests are about which camera a frame comes from; the
        # layers a link gets are tests/e2e/test_weak_link_*.py's.
        cameras = tuple(
            replace(
                camera_at(s.stream_url, s.control_url, name=n, stall_timeout=1.0),
                layers=LayersConfig(low=False),
            )
            for n, s in sims.items()
        )
        cfg = RelayConfig(host="127.0.0.1", port=0, cameras=cameras)
        relay = await stack.enter_async_context(running_relay(cfg))
        yield relay, sims


def _jpeg_code(data: bytes) -> tuple[int, int, int, int]:
    """(width, height, send_ms, counter) of a JPEG."""
    gray = simplejpeg.decode_jpeg(data, colorspace="GRAY")[:, :, 0]
    send_ms, counter = read_code(np.ascontiguousarray(gray))
    return gray.shape[1], gray.shape[0], send_ms, counter


async def test_each_camera_serves_its_own_frames_everywhere() -> None:
    async with three_cameras() as (relay, sims), aiohttp.ClientSession(timeout=TIMEOUT) as http:
        viewers = {n: WhepViewer(relay.whep(n)) for n in BOARDS}
        try:
            for viewer in viewers.values():
                await viewer.connect(http)
            for name, viewer in viewers.items():
                _f, w, h = BOARDS[name]
                frames = await viewer.wait_frames(
                    5, timeout=15, where=lambda f, w=w, h=h: (f.width, f.height) == (w, h)
                )
                assert {board_of(f.counter) for f in frames} == {name}
            for name, (_f, w, h) in BOARDS.items():
                base = f"{relay.base}/cameras/{name}"
                async with http.get(base + "/snapshot.jpg") as r:
                    assert r.status == 200
                    width, height, send_ms, counter = _jpeg_code(await r.read())
                assert (width, height) == (w, h) and board_of(counter) == name
                assert 0 <= elapsed_ms(send_ms) < 3000
                async with http.get(base + "/stream.mjpg") as r:
                    head = await r.content.readuntil(b"\r\n\r\n")
                    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))  # type: ignore[union-attr]
                    width, height, _ms, counter = _jpeg_code(await r.content.readexactly(length))
                assert (width, height) == (w, h) and board_of(counter) == name
                async with http.get(base) as r:  # the camera's own page
                    assert r.status == 200
                    html = await r.text()
                    assert f'"camera": "{name}"' in html and "viewer-page.js" in html
            for sim in sims.values():
                assert sim.stream_server.clients_served == 1  # one stream connection each
        finally:
            for viewer in viewers.values():
                await viewer.close(http)


async def test_the_grid_pages_list_the_cameras_asked_for() -> None:
    async with three_cameras() as (relay, _sims), aiohttp.ClientSession(timeout=TIMEOUT) as http:

        async def tiles(path: str) -> tuple[int, list[str]]:
            async with http.get(relay.base + path) as r:
                html = await r.text()
                return r.status, re.findall(r'class="tile" data-camera="([^"]+)"', html)

        assert await tiles("/") == (200, list(BOARDS))
        assert await tiles("/kiosk?cameras=all") == (200, list(BOARDS))
        assert await tiles("/kiosk?cameras=hall,porch") == (200, ["hall", "porch"])
        status, _ = await tiles("/kiosk?cameras=hall,attic")
        assert status == 404
        async with http.get(relay.base + "/?camera=garage") as r:  # the old viewer URL
            assert '"camera": "garage"' in await r.text()
        async with http.get(relay.base + "/cameras/attic") as r:
            assert r.status == 404


TILE_CODE = """
async (name) => {
  const tile = document.querySelector(`.tile[data-camera="${name}"]`);
  const v = tile && tile.querySelector("video");
  if (!v || !v.videoWidth || !v.srcObject) return null;
  const { CodeReader } = await import("/static/framecode.js");
  const [ms, counter] = new CodeReader().read(v, v.videoWidth, v.videoHeight);
  return { ms, counter, w: v.videoWidth, h: v.videoHeight, state: tile.dataset.state,
           fps: Number(tile.dataset.fps || 0), text: tile.textContent };
}
"""


async def _tile(page: Page, name: str, ok, timeout: float = 20) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await page.evaluate(TILE_CODE, name)
        if last is not None and ok(last):
            return last
        await page.wait_for_timeout(200)
    raise AssertionError(f"tile {name}: {last}")


def _live(name: str):  # type: ignore[no-untyped-def]
    _f, w, h = BOARDS[name]
    return lambda t: (
        (t["w"], t["h"]) == (w, h)
        and (t["ms"], t["counter"]) != PLACEHOLDER_CODE
        and board_of(t["counter"]) == name
        and 0 <= elapsed_ms(t["ms"]) < 2000
        and t["state"] == "live"
        and t["fps"] > 3
    )


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/", "/kiosk?cameras=all"])
async def test_grid_tiles_play_their_own_camera_in_chromium(page: Page, path: str) -> None:
    async with three_cameras() as (relay, sims):
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(relay.base + path)
        for name in BOARDS:
            tile = await _tile(page, name, _live(name))
            if path == "/":
                assert name in tile["text"] and "fps" in tile["text"]
        # One board gone: its tile shows its placeholder, the others play on.
        await sims["garage"].stop()
        await _tile(
            page,
            "garage",
            lambda t: (t["ms"], t["counter"]) == PLACEHOLDER_CODE and t["state"] == "bad",
        )
        for name in ("porch", "hall"):
            await _tile(page, name, _live(name), timeout=5)
        assert errors == []
