"""The first viewer, side by side with a native pipeline, on two scenes.

For each scene (the simulator's textured ``camera`` scene and its ``plain`` one: a flat
background and one moving box, SVGA 25 fps) the relay and GStreamer's webrtcbin with the
encoder settings a user's pipeline has (``gst_whep.py --plain-encoder``: ``vp8enc
deadline=1 cpu-used=8 lag-in-frames=0 error-resilient=default end-usage=cbr
target-bitrate=2000000``) each serve one headless Chromium viewer, alternating three
times: the peer's CPU (its process tree) and glass-to-glass over the same window.

    tests/netns-run .venv/bin/python -m bench.first_viewer --rounds 3 --seconds 15
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from typing import Any

from relay.testing.browser import launch_chromium

from . import procstat
from .glass import BROWSER_MODES, measure_glass

SCENES = ("camera", "plain")


async def _one(peer: Any, scene: str, warmup: float, seconds: float) -> dict[str, Any]:
    from .run import endpoint, running

    with running(peer, "SVGA", ("--scene", scene)) as (sim, proc):
        async with launch_chromium(BROWSER_MODES["unthrottled"]) as browser:
            task = asyncio.create_task(
                measure_glass(
                    None,
                    "whep",
                    endpoint(peer, sim, proc),
                    warmup_s=warmup,
                    duration_s=seconds,
                    browser=browser,
                )  # fmt: skip
            )
            # The CPU window: the glass window's, after the connection and the warm-up.
            await asyncio.sleep(warmup + 2.0)
            t0, c0 = time.monotonic(), procstat.sample(proc.pid).cpu
            await asyncio.sleep(seconds - 2.0)
            t1, c1 = time.monotonic(), procstat.sample(proc.pid).cpu
            glass = await task
    return {
        "cpu_cores": round((c1 - c0) / (t1 - t0), 4),
        "p50": glass.get("p50"),
        "p95": glass.get("p95"),
        "fps": glass.get("fps"),
    }


def _median(points: list[dict[str, Any]], key: str) -> float | None:
    values = [p[key] for p in points if p.get(key) is not None]
    return round(statistics.median(values), 4) if values else None


async def measure(rounds: int = 3, seconds: float = 15.0, warmup: float = 5.0) -> dict[str, Any]:
    from .run import Peer

    peers = {
        "relay": Peer("relay", "whep", "this relay"),
        "gstreamer": Peer(
            "gstreamer", "whep", "webrtcbin, a user's vp8enc settings", ("--plain-encoder",)
        ),
    }
    why = peers["gstreamer"].available()
    if why:
        return {"error": why}
    out: dict[str, Any] = {}
    for scene in SCENES:
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in peers}
        for _ in range(rounds):
            for name, peer in peers.items():
                try:
                    runs[name].append(await _one(peer, scene, warmup, seconds))
                except Exception as exc:
                    runs[name].append({"error": f"{type(exc).__name__}: {exc}"})
                await asyncio.sleep(1.0)
        out[scene] = {
            name: {
                "runs": points,
                "cpu_cores": _median(points, "cpu_cores"),
                "p50": _median(points, "p50"),
                "p95": _median(points, "p95"),
            }
            for name, points in runs.items()
        }
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=15.0)
    args = ap.parse_args(argv)
    print(json.dumps(asyncio.run(measure(args.rounds, args.seconds))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
