"""Several cameras: one relay with 4 cameras against 4 relays of one camera each, and the
grid page in Chromium.

    tests/netns-run .venv/bin/python -m bench.cameras --seconds 20

1. **4 cameras x 5 viewers**: four simulated boards (own processes), 5 aiortc viewers per
   camera (bench/load_viewers.py, one process per camera); relay CPU (its process tree)
   for one relay holding all four cameras, then for four relays of one camera each.
2. **The grid in Chromium**: one relay with the four cameras, the grid page (`/`, one
   peer connection per tile); the relay's CPU, Chromium's (every process of the browser),
   and glass-to-glass per tile from the frame code of each tile's video, read in the page
   at each frame the browser paints (requestVideoFrameCallback).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from relay.testing.browser import launch_chromium

from . import procstat
from .procs import (
    BIN,
    RAW,
    Simulator,
    finish_viewers,
    free_port,
    load_viewers,
    stop_process,
    wait_port,
)

NAMES = ("north", "east", "south", "west")

# Glass-to-glass per tile: each painted frame's code, read from the tile's video.
GRID_PROBE = """
async () => {
  const { CodeReader } = await import("/static/framecode.js");
  window.g2g = {};
  for (const tile of document.querySelectorAll(".tile")) {
    const name = tile.dataset.camera, video = tile.querySelector("video");
    const reader = new CodeReader(), out = (window.g2g[name] = []);
    const onFrame = () => {
      if (video.videoWidth) {
        const [ms] = reader.read(video, video.videoWidth, video.videoHeight);
        const now = Date.now() % 2 ** 32;
        const lag = (now - ms + 2 ** 32) % 2 ** 32;
        if (lag < 5000) out.push(lag);
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }
}
"""


def _config(path: Path, port: int, sims: Sequence[tuple[str, Simulator]]) -> Path:
    text = f'host = "127.0.0.1"\nport = {port}\nlog_level = "WARNING"\n'
    for name, sim in sims:
        text += (
            f'[[cameras]]\nname = "{name}"\nurl = "{sim.stream_url}"\n'
            f'control_url = "{sim.control_url}"\nframe_code = true\n'
        )
    path.write_text(text)
    return path


def _relay(config: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [str(BIN / "esp32-relay"), "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port, proc=proc)
    return proc


async def _cpu_under_viewers(
    relays: Sequence[int], endpoints: Sequence[str], per: int, seconds: float
) -> dict[str, Any]:
    procs = [p for url in endpoints for p in await load_viewers(url, per, seconds, 4)]
    for p in procs:
        line = json.loads(await p.stdout.readline())
        assert line["event"] == "connected", line
    await asyncio.sleep(4)  # the viewers' warm-up
    t0 = time.monotonic()
    c0 = sum(procstat.sample(pid).cpu for pid in relays)
    results = [json.loads(await p.stdout.readline()) for p in procs]
    t1 = time.monotonic()
    c1 = sum(procstat.sample(pid).cpu for pid in relays)
    await finish_viewers(procs)
    return {
        "relay_cores": round((c1 - c0) / (t1 - t0), 3),
        "relay_rss_mb": round(sum(procstat.sample(pid).rss_mb for pid in relays), 1),
        "min_viewer_fps": min(r["min_fps"] for r in results),
    }


def _browser_cpu() -> float:
    """CPU seconds of every Chromium process started from this one: the browsers' own
    trees, each counted once (a sample covers a process and its descendants)."""
    kids = procstat.children(os.getpid())
    browsers = {pid for pid in kids if _is_chromium(pid)}
    tops = [pid for pid in browsers if procstat.parent(pid) not in browsers]
    return sum(procstat.sample(pid).cpu for pid in tops)


def _is_chromium(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().startswith(("chrom", "headless"))
    except OSError:
        return False


def _pcts(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "frames": 0}
    values = sorted(values)
    return {
        "p50": round(statistics.median(values), 1),
        "p95": round(values[max(0, int(len(values) * 0.95) - 1)], 1),
        "frames": len(values),
    }


async def _grid(base: str, relay_pid: int, seconds: float) -> dict[str, Any]:
    async with launch_chromium() as browser:
        page = await browser.new_page()
        await page.goto(base + "/")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            states = await page.evaluate(
                "() => [...document.querySelectorAll('.tile')].map(t => t.dataset.state)"
            )
            if states and all(s == "live" for s in states):
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(5)  # every tile climbed to its full layer
        await page.evaluate(GRID_PROBE)
        t0, r0, b0 = time.monotonic(), procstat.sample(relay_pid).cpu, _browser_cpu()
        await asyncio.sleep(seconds)
        t1, r1, b1 = time.monotonic(), procstat.sample(relay_pid).cpu, _browser_cpu()
        lags = await page.evaluate("() => window.g2g")
        fps = await page.evaluate(
            "() => Object.fromEntries([...document.querySelectorAll('.tile')]"
            ".map(t => [t.dataset.camera, [Number(t.dataset.fps), t.dataset.size]]))"
        )
    span = t1 - t0
    return {
        "relay_cores": round((r1 - r0) / span, 3),
        "browser_cores": round((b1 - b0) / span, 3),
        "tiles": {
            name: {**_pcts(lags.get(name, [])), "fps": fps[name][0], "size": fps[name][1]}
            for name in NAMES
        },
    }


def measure(seconds: float = 20.0, framesize: str = "VGA", fps: float = 15.0) -> dict[str, Any]:
    sims = [(n, Simulator(framesize=framesize, fps=fps)) for n in NAMES]
    relays: list[subprocess.Popen[bytes]] = []
    out: dict[str, Any] = {"framesize": framesize, "fps": fps, "cameras": len(NAMES)}
    tmp = RAW
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        for _n, sim in sims:
            sim.start()
        port = free_port()
        relays.append(_relay(_config(tmp / "cameras-one.toml", port, sims), port))
        base = f"http://127.0.0.1:{port}"
        out["grid"] = asyncio.run(_grid(base, relays[0].pid, seconds))
        endpoints = [f"{base}/cameras/{n}/whep" for n in NAMES]
        out["one_relay"] = asyncio.run(_cpu_under_viewers([relays[0].pid], endpoints, 5, seconds))
        stop_process(relays.pop())
        time.sleep(1.0)  # the boards see their one client go
        endpoints = []
        for name, sim in sims:
            port = free_port()
            relays.append(_relay(_config(tmp / f"cameras-{name}.toml", port, [(name, sim)]), port))
            endpoints.append(f"http://127.0.0.1:{port}/cameras/{name}/whep")
        out["four_relays"] = asyncio.run(
            _cpu_under_viewers([r.pid for r in relays], endpoints, 5, seconds)
        )
    finally:
        for r in relays:
            stop_process(r)
        for _n, sim in sims:
            sim.stop()
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--framesize", default="VGA")
    ap.add_argument("--fps", type=float, default=15.0)
    args = ap.parse_args(argv)
    print(json.dumps(measure(args.seconds, args.framesize, args.fps)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
