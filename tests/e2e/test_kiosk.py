"""The kiosk page: full-screen video that recovers by itself, in headless Chromium."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Page

from relay.app import CAMERAS, PEERS, create_app
from relay.config import RelayConfig
from relay.simulator import SimulatedCamera, SimulatorOptions
from relay.testing.browser import READ_CODE
from relay.testing.relay import camera_at, running_relay
from relay.video.framecode import elapsed_ms
from relay.video.placeholder import PLACEHOLDER_CODE


async def test_kiosk_page_is_served_and_unknown_cameras_are_404() -> None:
    async with running_relay() as relay, aiohttp.ClientSession() as http:
        async with http.get(relay.base + "/kiosk?camera=default") as r:
            assert r.status == 200
            html = await r.text()
            assert '<video id="video"' in html and "kiosk-page.js" in html
            assert 'class="kiosk"' in html
            assert "<form" not in html  # no controls
        async with http.get(relay.base + "/kiosk") as r:
            assert r.status == 200
        async with http.get(relay.base + "/kiosk?camera=nope") as r:
            assert r.status == 404
            assert (await r.json())["error"] == "not_found"


@contextlib.asynccontextmanager
async def relay_on_port(cfg: RelayConfig, port: int) -> AsyncIterator[tuple[int, web.Application]]:
    """The relay application on 127.0.0.1:port (0: any); yields the port and the app."""
    app = create_app(cfg)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", port, reuse_address=True)
        await site.start()
        yield runner.addresses[0][1], app
    finally:
        await runner.cleanup()


async def wait_for_code(page: Page, want: str, timeout: float) -> float:
    """Wait until the video shows a live camera frame or the placeholder; seconds it took."""
    start = time.monotonic()
    deadline = start + timeout
    while time.monotonic() < deadline:
        code = await page.evaluate(READ_CODE)
        if code is not None:
            code = (code[0], code[1])
            if want == "placeholder" and code == PLACEHOLDER_CODE:
                return time.monotonic() - start
            if want == "live" and code != PLACEHOLDER_CODE and 0 <= elapsed_ms(code[0]) < 2000:
                return time.monotonic() - start
        await page.wait_for_timeout(100)
    raise TimeoutError(f"the kiosk showed no {want} frame within {timeout} s")


# Every change of the badge, kept in the page, so that a wait that fails says what it saw.
WATCH_BADGE = """() => {
  const badge = document.getElementById('badge');
  window.badgeLog = [];
  const note = () => window.badgeLog.push(
    `${(performance.now() / 1000).toFixed(1)} s: ${badge.hidden ? 'hidden' : badge.textContent}`);
  new MutationObserver(note).observe(badge, { attributes: true, childList: true });
  note();
}"""


async def wait_for_badge(page: Page, text: str | None, timeout: float) -> None:
    """Wait until the badge shows ``text`` (None: hidden); fail with what it showed."""
    want = "hidden" if text is None else text
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = await page.evaluate(
            "() => { const b = document.getElementById('badge');"
            " return b.hidden ? 'hidden' : b.textContent; }"
        )
        if shown == want:
            return
        await page.wait_for_timeout(100)
    log = await page.evaluate("() => window.badgeLog")
    raise TimeoutError(f"the badge did not show {want!r} within {timeout} s: {log}")


@pytest.mark.network
@pytest.mark.browser
async def test_kiosk_rides_through_camera_loss_and_relay_restart(page: Page) -> None:
    async with SimulatedCamera(SimulatorOptions(control_port=0, stream_port=0)) as sim:
        cam = camera_at(sim.stream_url, sim.control_url)
        cfg = RelayConfig(host="127.0.0.1", port=0, cameras=(cam,))
        async with relay_on_port(cfg, 0) as (port, _app):
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"http://127.0.0.1:{port}/kiosk?camera=default")
            await wait_for_code(page, "live", 15)
            await page.evaluate("() => { window.notReloaded = true; }")
            await page.evaluate(WATCH_BADGE)
            assert await page.is_hidden("#badge")
            cursor = await page.evaluate("() => getComputedStyle(document.body).cursor")
            assert cursor == "none"

            # The camera reboots: the placeholder and a badge, then live video again.
            reboot = asyncio.ensure_future(sim.reboot(3.0))
            await wait_for_code(page, "placeholder", 5)
            await wait_for_badge(page, "camera offline", 5)
            await reboot
            await wait_for_code(page, "live", 5)
            await wait_for_badge(page, None, 5)

        # The relay goes away and comes back on the same port.
        await asyncio.sleep(1.0)
        async with relay_on_port(cfg, port) as (_port, app):
            restarted = time.monotonic()
            await wait_for_code(page, "live", 10)
            took = time.monotonic() - restarted
            print(f"\nkiosk: live again {took:.1f} s after the relay restarted")
            assert took <= 10
            assert await page.evaluate("() => window.notReloaded === true")
            await wait_for_badge(page, None, 5)
            # The old session's peer connection was released, not left behind.
            state = await page.evaluate("() => window.kioskSession.pc.connectionState")
            assert state == "connected"
            # Renegotiating again and again leaves one session at the relay: each old one
            # is closed (DELETE) and released in the page.
            for _ in range(3):
                await page.evaluate("() => window.kioskSession.scheduleRetry('test')")
                await page.wait_for_function(
                    "() => window.kioskSession.state === 'connected'", timeout=10000
                )
            await wait_for_code(page, "live", 5)
            peers = app[PEERS]
            deadline = time.monotonic() + 5
            while peers.count() != 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert peers.count() == 1
            assert not errors, errors


@pytest.mark.network
@pytest.mark.browser
async def test_kiosk_renegotiates_when_video_stops_on_a_connected_session(page: Page) -> None:
    """A relay that goes silent without closing the session (hung, or gone from the network)."""
    async with SimulatedCamera(SimulatorOptions(control_port=0, stream_port=0)) as sim:
        cam = camera_at(sim.stream_url, sim.control_url)
        cfg = RelayConfig(host="127.0.0.1", port=0, cameras=(cam,))
        async with relay_on_port(cfg, 0) as (port, app):
            await page.goto(f"http://127.0.0.1:{port}/kiosk?camera=default")
            await wait_for_code(page, "live", 15)
            await page.evaluate(
                "() => { window.reasons = []; window.kioskSession.addEventListener('state',"
                " (ev) => { if (ev.detail.reason) window.reasons.push(ev.detail.reason); }); }"
            )
            # No more frames from the camera's pipeline: the session stays up, silent.
            pipeline_task = app[CAMERAS].get("default")._tasks[0]
            pipeline_task.cancel()
            silent = time.monotonic()
            await page.wait_for_function(
                "() => window.reasons.includes('no video from the relay')", timeout=8000
            )
            took = time.monotonic() - silent
            print(f"\nkiosk: renegotiating {took:.1f} s after the video stopped")
            assert took < 7  # 3 s of silence, read once a second
