"""Relay CPU per MJPEG client: the relay (its own process, a separate simulated board at
SVGA 25 fps) with 1 and with 50 clients of ``stream.mjpg``, and snapshot answer times
under that load.

    tests/netns-run .venv/bin/python -m bench.mjpeg_out --seconds 15

The clients read in this process; the relay's CPU is read from /proc for its process
alone. The issue's target: at most 0.0005 of a core per further client (the bytes are
the board's own JPEGs, sent as they are).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from typing import Any

import aiohttp

from . import procstat
from .procs import BIN, Simulator, free_port, stop_process, wait_port


async def _reader(http: aiohttp.ClientSession, url: str, counts: list[int], i: int) -> None:
    async with http.get(url) as resp:
        async for _ in resp.content.iter_chunked(64 * 1024):
            counts[i] += 1


async def _measure(base: str, pid: int, clients: int, seconds: float) -> dict[str, Any]:
    url = base + "/cameras/default/stream.mjpg"
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        counts = [0] * clients
        tasks = [asyncio.create_task(_reader(http, url, counts, i)) for i in range(clients)]
        try:
            await asyncio.sleep(3.0)  # all connected and flowing
            first = procstat.sample(pid)
            before = first.cpu
            t0 = time.monotonic()
            snaps: list[float] = []
            deadline = t0 + seconds
            while time.monotonic() < deadline:
                s0 = time.perf_counter()
                async with http.get(base + "/cameras/default/snapshot.jpg") as r:
                    await r.read()
                    assert r.status == 200, r.status
                snaps.append((time.perf_counter() - s0) * 1000)
                await asyncio.sleep(0.2)
            span = time.monotonic() - t0
            last = procstat.sample(pid)
            cores = (last.cpu - before) / span
            system = (last.system - first.system) / span
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    snaps.sort()
    return {
        "clients": clients,
        "relay_cores": round(cores, 4),
        "relay_system_cores": round(system, 4),  # of which in the kernel (TCP sends)
        "snapshot_p50_ms": round(statistics.median(snaps), 2),
        "snapshot_p95_ms": round(snaps[int(len(snaps) * 0.95) - 1], 2),
        "flowing": sum(1 for c in counts if c > 0),
    }


def measure(seconds: float = 15.0, many: int = 50) -> dict[str, Any]:
    sim = Simulator()
    sim.start()
    port = free_port()
    relay = subprocess.Popen(
        [str(BIN / "esp32-relay"), "--camera", sim.stream_url, "--control", sim.control_url,
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "WARNING"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_port(port, proc=relay)
        base = f"http://127.0.0.1:{port}"
        one = asyncio.run(_measure(base, relay.pid, 1, seconds))
        lots = asyncio.run(_measure(base, relay.pid, many, seconds))
    finally:
        stop_process(relay)
        sim.stop()
    per_client = (lots["relay_cores"] - one["relay_cores"]) / (many - 1)
    return {"one": one, "many": lots, "per_further_client_cores": round(per_client, 6)}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--clients", type=int, default=50)
    args = ap.parse_args(argv)
    print(json.dumps(measure(args.seconds, args.clients)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
