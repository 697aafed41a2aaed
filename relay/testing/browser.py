"""Headless Chromium for tests and benchmarks, launched so that it makes no connection of its own.

Playwright (async API) drives Debian's Chromium through ``executable_path``; Playwright's own
browser download is never used. Each launch gets a fresh temporary profile, which Playwright
creates and deletes itself (it refuses a ``--user-data-dir`` argument to ``launch``).

WebRTC inside the private network namespace (tests/netns-run) needs two things from the page:
- it must be served over http from 127.0.0.1 (an opaque origin such as ``data:`` gathers no
  ICE candidates at all);
- ``--use-fake-ui-for-media-stream`` must stay: it grants the media permission, which makes
  Chromium gather on every interface. Without it Chromium gathers only on the interface of the
  default route, and the namespace deliberately has none, so no candidate appears.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright

from ..video.framecode import elapsed_ms

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ENV = "ESP32_RELAY_CHROMIUM"
LAUNCH_TIMEOUT_MS = 15_000

# Chromium honours only the last --disable-features switch, so ours replaces the list Playwright
# passes. It therefore repeats Playwright's list (as of Playwright 1.65; several of these stop
# background requests) and adds WebRtcHideLocalIpsWithMdns, so candidates carry the veth address
# instead of a random .local name that would need multicast DNS to resolve.
_PLAYWRIGHT_DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "TcpPortRandomizationWin",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
)
DISABLED_FEATURES = (*_PLAYWRIGHT_DISABLED_FEATURES, "WebRtcHideLocalIpsWithMdns")


def chromium_path() -> str:
    """Path of the Chromium binary: $ESP32_RELAY_CHROMIUM or Debian's /usr/bin/chromium."""
    return os.environ.get(CHROMIUM_ENV, DEFAULT_CHROMIUM)


def chromium_missing_reason() -> str | None:
    """Why Chromium cannot be used, or None when the binary is present."""
    path = chromium_path()
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return None
    if shutil.which("apt-get"):
        hint = "run tests/ensure-system-deps as root"
    else:
        hint = f"install Chromium or set {CHROMIUM_ENV}"
    return f"Chromium not found at {path} ({hint})"


def chromium_args(extra: Sequence[str] = ()) -> list[str]:
    """Command-line switches that keep Chromium's traffic on this machine."""
    # Host names never resolve (no DNS look-ups leave); the loopback and namespace addresses
    # are excluded so local pages and the veth address stay reachable.
    excluded = ["127.0.0.1", "localhost"]
    netns_addr = os.environ.get("ESP32_RELAY_NETNS_ADDR")
    if netns_addr:
        excluded.append(netns_addr)
    resolver_rules = ", ".join(["MAP * ~NOTFOUND", *(f"EXCLUDE {host}" for host in excluded)])
    return [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--host-resolver-rules={resolver_rules}",
        f"--disable-features={','.join(DISABLED_FEATURES)}",
        "--autoplay-policy=no-user-gesture-required",
        "--use-fake-ui-for-media-stream",
        *extra,
    ]


def launch_error_summary(message: str, max_lines: int = 6) -> str:
    """The useful part of Playwright's launch error: the first line, Chromium's stderr, exit."""
    lines = message.splitlines()
    details = [
        line.strip(" -")
        for line in lines[1:]
        if "[err]" in line or "process did exit" in line or "error while loading" in line
    ]
    # Playwright repeats the browser log in its call log; keep each line once.
    unique = list(dict.fromkeys(details))[:max_lines]
    return "; ".join([lines[0] if lines else "unknown error", *unique])


@asynccontextmanager
async def launch_chromium(
    extra_args: Sequence[str] = (), *, executable: str | None = None
) -> AsyncIterator[Browser]:
    """Launch headless Chromium with ``chromium_args``; close it (and its profile) on exit.

    Raises playwright's Error if the browser cannot start.
    """
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable or chromium_path(),
            headless=True,
            args=chromium_args(extra_args),
            timeout=LAUNCH_TIMEOUT_MS,
        )
        try:
            yield browser
        finally:
            await browser.close()


@asynccontextmanager
async def serve_app(app: web.Application, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve an aiohttp application on a free port; yields its base URL (no trailing slash)."""
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, 0)
        await site.start()
        port = runner.addresses[0][1]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


# Reads (send_ms, counter) from the frame code in a page's playing <video id="video">, with
# the relay's own reader (web/static/framecode.js); null until a frame plays.
READ_CODE = """
async () => {
  const v = document.getElementById("video");
  if (!v || !v.videoWidth || !v.srcObject) return null;
  const { CodeReader } = await import("/static/framecode.js");
  return new CodeReader().read(v, v.videoWidth, v.videoHeight);
}
"""


async def wait_for_live_code(page: Page, timeout: float) -> tuple[int, int]:
    """The frame code of a live camera frame (sent under 2 s ago) once the page plays one;
    raises TimeoutError when none plays within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = await page.evaluate(READ_CODE)
        if code is not None and code[1] >= 0 and 0 <= elapsed_ms(code[0]) < 2000:
            return int(code[0]), int(code[1])
        await page.wait_for_timeout(100)
    raise TimeoutError(f"no live camera frame played within {timeout} s")
