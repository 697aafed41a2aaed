"""Relay CPU at 1 and N viewers, and JPEG-received -> last-RTP-packet-sent latency.

Three kinds of process, so that each is measured alone: the simulated board, the
relay, and the load viewers (aiortc peers that reassemble frames without decoding).
Run inside the private network namespace:

    tests/netns-run .venv/bin/python -m bench.core_figures --viewers 1 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import procstat
from .procs import free_port, get_json, wait_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def cpu_seconds(pid: int) -> float:
    return procstat.sample(pid).cpu


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of the process tree."""
    s = procstat.sample(pid)
    return s.cpu - s.system, s.system


def wait_http(url: str) -> None:
    port = int(url.split(":")[2].split("/")[0])
    wait_port(port)


async def measure(base: str, relay_pid: int, viewers: int, duration: float) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "python"),
        str(ROOT / "bench" / "load_viewers.py"),
        "--endpoint",
        f"{base}/whep",
        "--count",
        str(viewers),
        "--duration",
        str(duration),
        "--warmup",
        "4",
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = json.loads(await proc.stdout.readline())
    assert line["event"] == "connected", line
    await asyncio.sleep(4)  # the viewers' warm-up
    t0, c0, v0 = time.monotonic(), cpu_seconds(relay_pid), cpu_seconds(proc.pid)
    s0 = cpu_split(relay_pid)[1]
    before = get_json(f"{base}/api/cameras/default")
    result = json.loads(await proc.stdout.readline())
    t1, c1, v1 = time.monotonic(), cpu_seconds(relay_pid), cpu_seconds(proc.pid)
    s1 = cpu_split(relay_pid)[1]
    after = get_json(f"{base}/api/cameras/default")
    await proc.wait()
    lat = after["pipeline"]["latency_ms"]
    return {
        "viewers": viewers,
        "relay_cpu_cores": round((c1 - c0) / (t1 - t0), 4),
        "relay_system_cores": round((s1 - s0) / (t1 - t0), 4),
        "relay_rss_mb": round(procstat.sample(relay_pid).rss_mb, 1),
        "bitrate_kbps": round(
            (after["pipeline"]["bytes_out"] - before["pipeline"]["bytes_out"])
            * 8
            / (t1 - t0)
            / 1000
        ),
        "viewers_cpu_cores": round((v1 - v0) / (t1 - t0), 4),
        "keyframes": after["pipeline"]["keyframes"] - before["pipeline"]["keyframes"],
        "min_viewer_fps": result["min_fps"],
        "frames_encoded": after["pipeline"]["frames_encoded"]
        - before["pipeline"]["frames_encoded"],
        "latency_ms": lat,
    }


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--viewers", type=int, nargs="+", default=[1, 30])
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--framesize", default="SVGA")
    ap.add_argument("--fps", type=float, default=25)
    args = ap.parse_args(argv)

    ctl, stream, http = free_port(), free_port(), free_port()
    sim = subprocess.Popen(
        [
            str(BIN / "esp32-relay"),
            "simulate",
            "--host",
            "127.0.0.1",
            "--port",
            str(ctl),
            "--stream-port",
            str(stream),
            "--fps",
            str(args.fps),
            "--framesize",
            args.framesize,
        ],
        stdout=subprocess.DEVNULL,
    )
    relay = subprocess.Popen(
        [
            str(BIN / "esp32-relay"),
            "--camera",
            f"http://127.0.0.1:{stream}/stream",
            "--control",
            f"http://127.0.0.1:{ctl}",
            "--host",
            "127.0.0.1",
            "--port",
            str(http),
            "--log-level",
            "WARNING",
        ],
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{http}"
    results = []
    try:
        wait_http(f"{base}/healthz")
        for n in args.viewers:
            r = asyncio.run(measure(base, relay.pid, n, args.duration))
            results.append(r)
            print(json.dumps(r), flush=True)
            time.sleep(2)
    finally:
        relay.terminate()
        sim.terminate()
        relay.wait(10)
        sim.wait(10)
    if len(results) >= 2:
        ratio = results[-1]["relay_cpu_cores"] / max(results[0]["relay_cpu_cores"], 1e-9)
        print(json.dumps({"cpu_ratio_last_to_first": round(ratio, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
