"""Glass-to-glass latency of one video peer, measured in headless Chromium.

The page ``bench/web/g2g.html`` plays the peer (WebRTC through WHEP, or an
MJPEG URL in an ``<img>`` like the board's own page), reads the simulated
camera's frame code (:mod:`relay.framecode`) from every frame it shows, and
records ``latency = wall clock when shown - send time``. Chromium and the
simulator read the same machine clock, so no offset is estimated.

What the figure includes: from the moment the simulator writes the frame to
its socket (it renders and JPEG-encodes just ahead of that moment; an encode
that overruns it counts) through the peer under test, to the browser's decode
and compositing up to the time the frame is expected on screen
(``requestVideoFrameCallback``'s ``expectedDisplayTime`` for video; the
animation frame that first draws it for ``<img>``). It therefore also holds the
wait for the display's next frame (up to one 60 Hz interval), which every peer
pays alike.

Run WebRTC peers inside the private network namespace::

    tests/netns-run .venv/bin/python -m bench.glass --whep http://127.0.0.1:8080/whep
    .venv/bin/python -m bench.glass --mjpeg http://127.0.0.1:81/stream --duration 20
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
from aiohttp import web
from playwright.async_api import Browser

from relay.routes.assets import web_root
from relay.testing.browser import launch_chromium, serve_app

WEB_DIR = Path(__file__).resolve().parent / "web"

MODES = ("whep", "mjpeg")
FIRST_SECONDS = 10.0  # the start-up window reported separately as ``first10``
CONNECT_TIMEOUT_S = 20.0
POLL_S = 0.5

_STATE_JS = (
    "() => ({state: g2g.state, error: g2g.error, first: g2g.firstFrameAt,"
    " t: performance.now() - g2g.t0})"
)
_RESULT_JS = (
    "() => ({samples: g2g.samples, badAt: g2g.badAt, badFrames: g2g.badFrames,"
    " blankAt: g2g.blankAt, raced: g2g.raced, repeats: g2g.repeats,"
    " first: g2g.firstFrameAt, width: g2g.width, height: g2g.height,"
    " state: g2g.state, error: g2g.error})"
)


class GlassError(RuntimeError):
    """The page could not play the peer (connection refused, no frames, unreadable code)."""


# Two ways to run Chromium's compositor. "vsync": as shipped, frames reach the screen on a
# 60 Hz schedule, which adds 8-25 ms whatever the peer. "unthrottled": the compositor draws
# as soon as a frame is ready (--disable-gpu-vsync --disable-frame-rate-limit), which
# approximates a display that shows frames when they arrive and isolates the peer's latency.
BROWSER_MODES = {
    "unthrottled": ["--disable-gpu-vsync", "--disable-frame-rate-limit"],
    "vsync": [],
}


def page_url(base: str, mode: str, target: str, ice: dict[str, Any] | None = None) -> str:
    """The measuring page's URL for ``mode`` ("whep" or "mjpeg") and its target URL;
    ``ice``: the page's ``iceServers`` and ``iceTransportPolicy`` (a TURN server)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    key = "endpoint" if mode == "whep" else "src"
    query = {"mode": mode, key: target}
    if ice:
        query["ice"] = json.dumps(ice)
    return f"{base.rstrip('/')}/g2g.html?{urlencode(query)}"


def window_stats(
    samples: list[dict[str, Any]], bad_at: list[int], start_ms: float, end_ms: float
) -> dict[str, Any]:
    """Latency and frame-rate figures for the frames shown in ``[start_ms, end_ms)``.

    ``dropped`` counts frames missing between consecutive counters (sent by the
    camera, never shown).
    """
    chosen = [s for s in samples if start_ms <= s["t"] < end_ms]
    span_s = max(end_ms - start_ms, 1.0) / 1000
    bad = sum(1 for t in bad_at if start_ms <= t < end_ms)
    out: dict[str, Any] = {"frames": len(chosen), "fps": round(len(chosen) / span_s, 2), "bad": bad}
    if not chosen:
        frozen = round(span_s * 1000, 1)  # nothing shown: one freeze as long as the window
        return {
            **out, "p50": None, "p95": None, "p99": None, "mean": None, "dropped": 0,
            "max_gap_ms": frozen, "freezes": [(start_ms, frozen)],
        }  # fmt: skip
    lat = np.array([s["latency_ms"] for s in chosen], dtype=np.float64)
    p50, p95, p99 = np.percentile(lat, [50, 95, 99])
    dropped = sum(
        max(0, (b["counter"] - a["counter"]) % 65536 - 1) for a, b in itertools.pairwise(chosen)
    )
    out.update(
        p50=round(float(p50), 1),
        p95=round(float(p95), 1),
        p99=round(float(p99), 1),
        mean=round(float(lat.mean()), 1),
        min=round(float(lat.min()), 1),
        max=round(float(lat.max()), 1),
        dropped=dropped,
        # The longest time between two frames shown: a freeze, as a viewer sees it.
        max_gap_ms=round(
            max((b["t"] - a["t"] for a, b in itertools.pairwise(chosen)), default=0.0), 1
        ),
        # Freezes over a second: (ms after the page began, how long).
        freezes=[
            (a["t"], b["t"] - a["t"])
            for a, b in itertools.pairwise(chosen)
            if b["t"] - a["t"] > 1000
        ],
    )
    # Video only: the same latency at rVFC's presentationTime and at the frame's
    # receiveTime (last packet in), which separates the browser's share from the rest.
    for key, name in (("presented_ms", "presented"), ("received_ms", "received")):
        values = [s[key] for s in chosen if key in s]
        if values:
            q50, q95 = np.percentile(np.array(values, dtype=np.float64), [50, 95])
            out[name] = {"p50": round(float(q50), 1), "p95": round(float(q95), 1)}
    return out


def summarize(
    raw: dict[str, Any], warmup_s: float, duration_s: float, elapsed_ms: float
) -> dict[str, Any]:
    """Steady-state figures (``duration_s`` after ``warmup_s`` past the first frame) and the
    first ``FIRST_SECONDS`` after the page started connecting, from the page's raw record."""
    samples: list[dict[str, Any]] = raw["samples"]
    bad_at: list[int] = raw["badAt"]
    first = float(raw["first"])
    start = first + warmup_s * 1000
    steady = window_stats(samples, bad_at, start, start + duration_s * 1000)
    first10 = window_stats(samples, bad_at, 0.0, min(FIRST_SECONDS * 1000, elapsed_ms))
    return {
        **steady,
        "first10": first10,
        "first_frame_ms": round(first),
        "width": raw["width"],
        "height": raw["height"],
        "bad_total": len(bad_at),
        "bad_frames": raw.get("badFrames", []),
        # Callbacks whose canvas was not painted yet (only ever the first of a session) or
        # already held the next frame: artifacts of reading, not frames viewers saw.
        "blank_at": raw.get("blankAt", []),
        "raced": raw.get("raced", 0),
        "repeats": raw["repeats"],
    }


async def measure_glass(
    page_base_url: str | None,
    mode: str,
    target: str,
    *,
    warmup_s: float = 5.0,
    duration_s: float = 20.0,
    browser: Browser | None = None,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    ice: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Measure glass-to-glass latency of ``target`` in headless Chromium.

    ``mode`` is "whep" (``target`` is a WHEP endpoint) or "mjpeg" (``target`` is an
    MJPEG URL shown in an ``<img>``). ``page_base_url`` serves bench/web; None serves
    it here on 127.0.0.1. ``browser`` is reused when given, else one is launched.

    Returns p50/p95/p99/mean/min/max latency in ms, fps, frames, bad, dropped for
    ``duration_s`` starting ``warmup_s`` after the first frame, the same for the
    first 10 s after the page started connecting under ``first10``, and
    ``first_frame_ms``, ``width``, ``height``. Raises GlassError when no frame
    arrives within ``connect_timeout_s`` or the page reports an error.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    async with AsyncExitStack() as stack:
        base: str
        if page_base_url is None:
            app = web.Application()
            # The page reads frames with the relay's own frame-code reader.
            app.router.add_static("/static/", web_root() / "static")
            app.router.add_static("/", WEB_DIR)
            base = await stack.enter_async_context(serve_app(app))
        else:
            base = page_base_url
        chromium: Browser
        if browser is None:
            chromium = await stack.enter_async_context(launch_chromium())
        else:
            chromium = browser
        context = await chromium.new_context()
        stack.push_async_callback(context.close)
        page = await context.new_page()
        await page.goto(page_url(base, mode, target, ice))

        deadline = time.monotonic() + connect_timeout_s
        while True:
            st = await page.evaluate(_STATE_JS)
            if st["state"] == "error":
                raise GlassError(f"{mode} {target}: {st['error']}")
            if st["first"] is None:
                if time.monotonic() > deadline:
                    raise GlassError(f"{mode} {target}: no frame in {connect_timeout_s:g} s")
            else:
                # The steady window ends warmup + duration after the first frame; a run
                # shorter than 10 s reports the start-up window it has.
                if st["t"] >= st["first"] + (warmup_s + duration_s) * 1000:
                    break
            await asyncio.sleep(POLL_S)
        raw = await page.evaluate(_RESULT_JS)
        await page.evaluate("() => g2g.stop()")
        result = summarize(raw, warmup_s, duration_s, float(st["t"]))
        return {"mode": mode, "target": target, **result}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description="Glass-to-glass latency in headless Chromium.")
    peer = ap.add_mutually_exclusive_group(required=True)
    peer.add_argument("--whep", metavar="URL", help="WHEP endpoint of a WebRTC peer")
    peer.add_argument("--mjpeg", metavar="URL", help="MJPEG stream shown in an <img>")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds measured")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds after the first frame")
    ap.add_argument("--page-base", default=None, help="URL serving bench/web (default: serve it)")
    args = ap.parse_args(argv)
    mode, target = ("whep", args.whep) if args.whep else ("mjpeg", args.mjpeg)
    result = asyncio.run(
        measure_glass(args.page_base, mode, target, warmup_s=args.warmup, duration_s=args.duration)
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
