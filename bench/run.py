"""The benchmark suite: this relay side by side with the alternatives, on one simulated camera.

Peers (each with its own simulated board, since a board serves one stream client):
  relay           this relay over WebRTC (WHEP)
  gstreamer       GStreamer's webrtcbin, one vp8enc through a tee (bench/gst_whep.py)
  aiortc-examples the relay a user would write from aiortc's examples (bench/baseline_aiortc.py)
  board-mjpeg     the board's own way: its MJPEG stream in an <img>

Measures glass-to-glass latency in headless Chromium, the relay's latency per stage at three
frame sizes, and CPU, memory and the slowest viewer's frame rate as viewers grow; with --soak,
30 minutes of viewers joining and leaving. Writes bench/RESULTS.md and PNG plots beside it;
raw JSON goes to bench/raw/. Run inside the private network namespace (``make bench`` does):

    tests/netns-run .venv/bin/python -m bench.run [--quick] [--soak]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relay.testing.browser import launch_chromium

from . import access, cameras, first_viewer, mjpeg_out, procstat, turn, weaklink
from .glass import BROWSER_MODES, measure_glass
from .procs import (  # noqa: F401  (the helpers, as the other benches knew them)
    BENCH,
    BIN,
    RAW,
    ROOT,
    SYSTEM_PYTHON,
    Simulator,
    finish_viewers,
    free_port,
    get_json,
    load_viewers,
    stop_process,
    wait_port,
)
from .report import write_report

_GST_PROBE = """
import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import Gst
Gst.init(None)
assert Gst.ElementFactory.find("webrtcbin") and Gst.ElementFactory.find("vp8enc")
"""


@dataclass
class Peer:
    name: str
    kind: str  # "whep" or "mjpeg"
    description: str
    extra: tuple[str, ...] = ()  # more flags for the peer's command

    def command(self, sim: Simulator, port: int) -> list[str] | None:
        if self.name == "relay":
            return [str(BIN / "esp32-relay"), "--camera", sim.stream_url,
                    "--control", sim.control_url, "--host", "127.0.0.1", "--port", str(port),
                    "--log-level", "WARNING"]  # fmt: skip
        if self.name == "gstreamer":
            return [SYSTEM_PYTHON, str(BENCH / "gst_whep.py"), "--camera", sim.stream_url,
                    "--host", "127.0.0.1", "--port", str(port), *self.extra]  # fmt: skip
        if self.name == "aiortc-examples":
            return [str(BIN / "python"), str(BENCH / "baseline_aiortc.py"), "--camera",
                    sim.stream_url, "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
        return None  # the board itself

    def available(self) -> str | None:
        """Why this peer cannot run here, or None."""
        if self.name == "gstreamer":
            if not Path(SYSTEM_PYTHON).exists():
                return "no /usr/bin/python3"
            probe = subprocess.run(
                [SYSTEM_PYTHON, "-c", _GST_PROBE], capture_output=True, text=True
            )
            if probe.returncode != 0:
                return (
                    "GStreamer with webrtcbin and vp8enc is not installed (bench/install-gstreamer)"
                )
        return None


PEERS = [
    Peer("relay", "whep", "this relay, WebRTC via WHEP"),
    Peer("gstreamer", "whep", "GStreamer webrtcbin, one vp8enc through a tee"),
    Peer(
        "aiortc-examples", "whep", "aiortc's examples: MediaPlayer, MediaRelay, encoder per viewer"
    ),
    Peer("board-mjpeg", "mjpeg", "the board's own MJPEG stream in an <img>"),
]


@contextlib.contextmanager
def running(
    peer: Peer, framesize: str = "SVGA", sim_flags: tuple[str, ...] = ()
) -> Iterator[tuple[Simulator, Any]]:
    """The peer's own simulated board and the peer process; yields (sim, process or None)."""
    sim = Simulator(framesize=framesize, extra=sim_flags)
    sim.start()
    proc = None
    try:
        port = free_port()
        cmd = peer.command(sim, port)
        if cmd is not None:
            log = open(RAW / f"{peer.name}.log", "ab")  # noqa: SIM115
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
            proc.port = port  # type: ignore[attr-defined]
            wait_port(port, proc=proc)
            time.sleep(1.0)  # let it connect to the camera
        yield sim, proc
    finally:
        stop_process(proc)
        sim.stop()


def endpoint(peer: Peer, sim: Simulator, proc: Any) -> str:
    return sim.stream_url if peer.kind == "mjpeg" else f"http://127.0.0.1:{proc.port}/whep"


# ---------------------------------------------------------------- glass to glass


async def glass_for(peer: Peer, warmup: float, duration: float, modes: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with running(peer) as (sim, proc):
        for mode in modes:
            try:
                async with launch_chromium(BROWSER_MODES[mode]) as browser:
                    out[mode] = await measure_glass(
                        None,
                        peer.kind,
                        endpoint(peer, sim, proc),
                        warmup_s=warmup,
                        duration_s=duration,
                        browser=browser,
                    )
            except Exception as exc:
                out[mode] = {"error": f"{type(exc).__name__}: {exc}"}
            await asyncio.sleep(1)  # the board serves one client: let the last one go
    return out


# ---------------------------------------------------------------- cost per viewer


async def cost_point(
    proc: Any, url: str, viewers: int, duration: float, relay_api: str | None
) -> dict[str, Any]:
    warmup = 4.0
    loads = await load_viewers(url, viewers, duration, warmup)
    point: dict[str, Any] = {"viewers": viewers}
    try:
        for lp in loads:
            line = await asyncio.wait_for(lp.stdout.readline(), 60 + viewers)
            if not line or json.loads(line).get("event") != "connected":
                raise RuntimeError("load viewers failed to connect")
        await asyncio.sleep(warmup)
        t0, s0 = time.monotonic(), procstat.sample(proc.pid)
        api0 = get_json(relay_api) if relay_api else None
        results = [json.loads(await asyncio.wait_for(lp.stdout.readline(), duration + 30))
                   for lp in loads]  # fmt: skip
        t1, s1 = time.monotonic(), procstat.sample(proc.pid)
        api1 = get_json(relay_api) if relay_api else None
        span = t1 - t0
        fps = [f for r in results for f in r["fps"]]
        point.update(
            cpu_cores=round((s1.cpu - s0.cpu) / span, 4),
            system_cores=round((s1.system - s0.system) / span, 4),
            rss_mb=round(s1.rss_mb, 1),
            min_fps=round(min(fps), 2) if fps else 0.0,
            mean_fps=round(sum(fps) / len(fps), 2) if fps else 0.0,
        )
        if api0 and api1:
            p0, p1 = api0["pipeline"], api1["pipeline"]
            point["bitrate_kbps"] = round((p1["bytes_out"] - p0["bytes_out"]) * 8 / span / 1000)
            point["sent_all_ms"] = p1["latency_ms"]["received_to_sent_all"]
    except Exception as exc:
        point["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        await finish_viewers(loads)
    if proc.poll() is not None:
        point["error"] = f"peer exited with code {proc.returncode}"
    return point


async def cost_for(peer: Peer, counts: list[int], duration: float) -> list[dict[str, Any]]:
    points: list[dict[str, Any]] = []
    with running(peer) as (sim, proc):
        url = endpoint(peer, sim, proc)
        api = f"http://127.0.0.1:{proc.port}/api/cameras/default" if peer.name == "relay" else None
        for n in counts:
            point = await cost_point(proc, url, n, duration, api)
            points.append(point)
            print(f"  {peer.name} {n} viewers: {point}", flush=True)
            if "error" in point and proc.poll() is not None:
                break  # the peer died: record how it failed, do not go further
            await asyncio.sleep(1.0)
    return points


# ---------------------------------------------------------------- relay stages


async def stages_for(framesize: str, duration: float) -> dict[str, Any]:
    relay = PEERS[0]
    with running(relay, framesize) as (sim, proc):
        api = f"http://127.0.0.1:{proc.port}/api/cameras/default"
        loads = await load_viewers(f"http://127.0.0.1:{proc.port}/whep", 1, duration, 3)
        try:
            await loads[0].stdout.readline()
            await asyncio.sleep(3)
            before = get_json(api)["pipeline"]["latency_ms"]
            await loads[0].stdout.readline()
            info = get_json(api)
        finally:
            await finish_viewers(loads)
    lat = info["pipeline"]["latency_ms"]
    return {
        "framesize": framesize,
        "resolution": info["resolution"],
        "fps_in": info["fps_in"],
        "stages": lat,
        "samples_before_window": before["received_to_sent_all"]["count"],
    }


# ---------------------------------------------------------------- soak


# Faults every few seconds at 25 fps. The simulator counts frames per connection, so the
# periods are chosen to come round within one: on each connection the board stalls at its
# 150th and 300th frame (1.5 s each), sends a truncated frame every 131st, a damaged one
# every 97th and garbage every 61st, and reboots (2 s, refusing connections) at its 420th,
# about every 20 s. Its control server answers every 9th request 500 and resets every 13th.
SOAK_FAULTS = (
    "--stall-every", "150", "--stall-seconds", "1.5", "--truncate-every", "131",
    "--corrupt-every", "97", "--garbage-every", "61", "--garbage-bytes", "300",
    "--reboot-every", "420", "--reboot-seconds", "2",
    "--control-500-every", "9", "--control-reset-every", "13",
)  # fmt: skip
SOAK_WARMUP_S = 300.0  # what happens before this is warm-up: caches, pools, first peaks
# After warm-up the relay must stay within these of its post-warm-up level.
SOAK_BOUNDS = {"rss_mb": 25.0, "fds": 12, "threads": 4, "tasks": 30}


def _post_json(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


async def soak(minutes: float) -> dict[str, Any]:
    """Viewers join and leave every few seconds, the board fails every few seconds, and a
    controller changes settings meanwhile; the relay's RSS, fds, threads, tasks and
    sessions over time, and whether they stayed flat after warm-up."""
    relay = PEERS[0]
    series: list[dict[str, Any]] = []
    control = {"sent": 0, "ok": 0, "errors": {}}
    with running(relay, sim_flags=SOAK_FAULTS) as (sim, proc):
        url = f"http://127.0.0.1:{proc.port}/whep"
        health = f"http://127.0.0.1:{proc.port}/healthz"
        control_url = f"http://127.0.0.1:{proc.port}/api/cameras/default/control"
        start = time.monotonic()
        end = start + minutes * 60
        # One viewer stays throughout, so the encoder never idles between waves.
        steady = await load_viewers(url, 1, minutes * 60 + 30, 0)
        cycle = 0
        while time.monotonic() < end:
            cycle += 1
            n = 1 + cycle % 8
            # Each wave connects n viewers for a few seconds, then they leave (DELETE).
            loads = await load_viewers(url, n, 3.0, 0.5)
            for i in range(5):  # and a controller drags a slider meanwhile
                status, reply = await asyncio.to_thread(
                    _post_json, control_url, {"var": "brightness", "val": (cycle + i) % 5 - 2}
                )
                control["sent"] += 1
                if status == 200 and reply.get("ok"):
                    control["ok"] += 1
                else:
                    key = str(reply.get("error", status))
                    control["errors"][key] = control["errors"].get(key, 0) + 1
            for lp in loads:
                await lp.wait()
            s = procstat.sample(proc.pid)
            h = get_json(health)
            series.append({
                "t": round(time.monotonic() - start, 1), "rss_mb": round(s.rss_mb, 1),
                "fds": s.fds, "threads": s.threads, "tasks": h.get("tasks"),
                "sessions": h.get("sessions"),
            })  # fmt: skip
        # What the faults did, as the relay counted them.
        info = get_json(f"http://127.0.0.1:{proc.port}/api/cameras/default")
        faults = {**info.get("ingest", {}), **info.get("pipeline", {})}
        for lp in steady:
            with contextlib.suppress(ProcessLookupError):
                lp.terminate()
        await finish_viewers(steady)
    counted = ("disconnects", "stalls", "refused", "garbage_bytes", "dropped_invalid",
               "dropped_corrupt", "away_periods", "placeholder_frames")  # fmt: skip
    return {
        "series": series,
        "control": control,
        "faults": {k: faults.get(k) for k in counted},
        "check": soak_check(series),
    }


def soak_check(series: list[dict[str, Any]]) -> dict[str, Any]:
    """How far each resource moved after warm-up (max minus its first post-warm-up value)
    against SOAK_BOUNDS; ``ok`` when all stayed within."""
    after = [s for s in series if s["t"] >= SOAK_WARMUP_S] or series[len(series) // 2 :]
    out: dict[str, Any] = {"samples": len(after), "ok": True}
    for key, bound in SOAK_BOUNDS.items():
        values = [s[key] for s in after if s.get(key) is not None]
        if not values:
            continue
        growth = max(values) - values[0]
        out[key] = {"first": values[0], "max": max(values), "growth": growth, "bound": bound}
        out["ok"] = out["ok"] and growth <= bound
    return out


# ---------------------------------------------------------------- main


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a short run (under 3 minutes)")
    ap.add_argument("--soak", action="store_true", help="add the one-hour soak")
    ap.add_argument("--soak-minutes", type=float, default=60.0)
    ap.add_argument(
        "--peers",
        nargs="*",
        default=[p.name for p in PEERS],
        help="peers to measure (none: soak only)",
    )
    args = ap.parse_args(argv)

    if os.environ.get("ESP32_RELAY_NETNS") != "1":
        print("bench.run must run inside tests/netns-run (make bench does)", file=sys.stderr)
        return 2
    RAW.mkdir(parents=True, exist_ok=True)
    quick = args.quick
    glass_warmup, glass_duration = (3, 6) if quick else (10, 20)
    glass_modes = ["unthrottled"] if quick else ["unthrottled", "vsync"]
    counts = [1, 10] if quick else [1, 10, 30, 50, 100]
    cost_duration = 5 if quick else 15
    results: dict[str, Any] = {
        "quick": quick, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "peers": {}, "stages": [], "soak": None,
    }  # fmt: skip
    t_start = time.monotonic()
    for peer in PEERS:
        if peer.name not in args.peers:
            continue
        entry: dict[str, Any] = {"description": peer.description}
        results["peers"][peer.name] = entry
        why = peer.available()
        if why:
            entry["unavailable"] = why
            print(f"{peer.name}: unavailable: {why}", flush=True)
            continue
        print(f"{peer.name}: glass to glass", flush=True)
        try:
            glass = asyncio.run(glass_for(peer, glass_warmup, glass_duration, glass_modes))
        except Exception as exc:
            glass = {m: {"error": f"{type(exc).__name__}: {exc}"} for m in glass_modes}
        entry["glass"] = glass.get("unthrottled")
        entry["glass_vsync"] = glass.get("vsync")
        for mode, g in glass.items():
            print(f"  {mode}: " + ", ".join(f"{k}={g.get(k)}" for k in ("p50", "p95", "fps")))
        if peer.kind == "whep":
            print(f"{peer.name}: cost per viewer", flush=True)
            peer_counts = counts
            if peer.name == "aiortc-examples":  # one encoder per viewer: it cannot go far
                peer_counts = [1, 10] if quick else [1, 2, 5, 10]
            entry["cost"] = asyncio.run(cost_for(peer, peer_counts, cost_duration))
    if "relay" in args.peers:
        sim = Simulator()
        sim.start()
        try:
            camera = (sim.stream_url, sim.control_url)
            print("relay: access control off and on", flush=True)
            results["access"] = asyncio.run(
                access.measure(2 if quick else 3, 5.0 if quick else 10.0, camera)
            )
            print("relay: glass to glass through TURN and direct", flush=True)
            results["turn"] = asyncio.run(
                turn.measure(1 if quick else 2, 3.0, 6.0 if quick else 15.0, camera)
            )
        finally:
            sim.stop()
        results["weaklink"] = {}
        weak_peers = [("layers", "relay", False), ("one encoding", "relay", True)]
        if "gstreamer" in args.peers:
            weak_peers.append(("GStreamer", "gstreamer", True))
        for name, weak_peer, fixed in weak_peers:
            print(f"{weak_peer}: a viewer at 600 kbit/s and 1 % loss ({name})", flush=True)
            try:
                results["weaklink"][name] = asyncio.run(
                    weaklink.measure(
                        600, 0.01, 20.0 if quick else 60.0, fixed=fixed, peer=weak_peer
                    )
                )
            except Exception as exc:
                results["weaklink"][name] = {"error": f"{type(exc).__name__}: {exc}"}
        print("relay: CPU per MJPEG client, 1 and 50 clients", flush=True)
        try:
            results["mjpeg_out"] = mjpeg_out.measure(8.0 if quick else 20.0)
        except Exception as exc:
            results["mjpeg_out"] = {"error": f"{type(exc).__name__}: {exc}"}
        print("first viewer: relay and GStreamer (a user's settings), two scenes", flush=True)
        try:
            results["first_viewer"] = asyncio.run(
                first_viewer.measure(1 if quick else 3, 10.0 if quick else 15.0)
            )
        except Exception as exc:
            results["first_viewer"] = {"error": f"{type(exc).__name__}: {exc}"}
        print("relay: 4 cameras, the grid in Chromium, one relay against four", flush=True)
        try:
            results["cameras"] = cameras.measure(8.0 if quick else 20.0)
        except Exception as exc:
            results["cameras"] = {"error": f"{type(exc).__name__}: {exc}"}
        for size in ["QVGA", "SVGA"] if quick else ["QVGA", "SVGA", "UXGA"]:
            print(f"relay stages at {size}", flush=True)
            results["stages"].append(asyncio.run(stages_for(size, 5 if quick else 15)))
    soak_file = RAW / "soak.json"
    if args.soak:
        print(f"soak: {args.soak_minutes} minutes", flush=True)
        results["soak"] = asyncio.run(soak(args.soak_minutes))
        soak_file.write_text(json.dumps(results["soak"]))
    elif soak_file.exists():  # the last soak, run on its own (it takes half an hour)
        results["soak"] = json.loads(soak_file.read_text())
        results["soak_from_earlier_run"] = True
    results["seconds"] = round(time.monotonic() - t_start)
    (RAW / "results.json").write_text(json.dumps(results, indent=1))
    write_report(results, BENCH)
    print(f"wrote {BENCH / 'RESULTS.md'} in {results['seconds']} s", flush=True)
    return 0


if __name__ == "__main__":
    if shutil.which("chromium") is None and not Path("/usr/bin/chromium").exists():
        print("note: chromium is missing; glass-to-glass figures will be errors", file=sys.stderr)
    sys.exit(main(sys.argv[1:]))
