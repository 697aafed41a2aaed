"""A Chromium viewer behind a slow, lossy link beside one on the plain link.

The slow viewer's whole browser (Playwright, Chromium and the glass-to-glass page of
:mod:`bench.glass`) runs in its own network namespace (:class:`relay.testing.slowlink.
SlowLink`), whose one link to the relay is shaped by the kernel: tbf for the rate, a BPF
drop for the loss. The fast viewer runs in the relay's namespace over loopback. Both
measure against the same simulated camera, at the same time. After the measured window
the link is lifted and the time until the slow viewer is back on the top layer is taken
from the relay's own view of that viewer.

Run inside the private network namespace::

    tests/netns-run .venv/bin/python -m bench.weaklink --rate 600 --loss 0.01 --duration 60
    tests/netns-run .venv/bin/python -m bench.weaklink --fixed   # one encoding, no adaptation
    tests/netns-run .venv/bin/python -m bench.weaklink --gstreamer   # the native peer
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

from relay.config import CameraConfig, RelayConfig
from relay.simulator import SimulatedCamera, SimulatorOptions
from relay.testing.relay import RunningRelay, running_relay
from relay.testing.slowlink import SlowLink
from relay.video.config import LayersConfig

from . import procstat
from .glass import measure_glass

LIFT_TIMEOUT_S = 15.0


async def _glass_behind(
    link: SlowLink, whep: str, warmup: float, duration: float
) -> dict[str, Any]:
    """bench.glass run inside the link's namespace; its JSON result."""
    proc = await link.spawn(
        [
            "env", f"ESP32_RELAY_NETNS_ADDR={link.relay_address}",
            sys.executable, "-m", "bench.glass", "--whep", whep,
            "--warmup", str(warmup), "--duration", str(duration),
        ]
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), warmup + duration + 60)
    if proc.returncode != 0:
        text = err.decode()
        if "no frame in" in text:
            # A peer that sends the slow viewer more than its link carries may never get a
            # first frame through (GStreamer at 2 Mbit/s behind 600 kbit/s): a result.
            reason = text.strip().splitlines()[-1]
            return {"frames": 0, "fps": 0.0, "p50": None, "p95": None, "error": reason}
        raise RuntimeError(f"glass behind the slow link failed: {text[-2000:]}")
    return json.loads(out.decode().strip().splitlines()[-1])


def _slow_session(relay: RunningRelay, address: str) -> Any:
    for session in relay.peers.sessions.values():
        if session.remote and session.remote.startswith(address):
            return session
    return None


async def _back_on_top(relay: RunningRelay, address: str) -> float | None:
    """Seconds until the viewer from ``address`` receives the top layer, None if never."""
    start = time.monotonic()
    while time.monotonic() - start < LIFT_TIMEOUT_S:
        session = _slow_session(relay, address)
        if session is not None and session.track.layer == 0:
            return round(time.monotonic() - start, 2)
        await asyncio.sleep(0.1)
    return None


def _thread_cpu(name_prefix: str) -> float:
    """Seconds of CPU the threads of this process named ``name_prefix``... have used."""
    total = 0.0
    for thread in threading.enumerate():
        if thread.name.startswith(name_prefix) and thread.native_id is not None:
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
                utime, stime = fields.rsplit(")", 1)[1].split()[11:13]
                total += (int(utime) + int(stime)) / procstat.CLK_TCK
    return total


async def _both_viewers(
    link: SlowLink, slow_whep: str, fast_whep: str, warmup: float, duration: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    slow, fast = await asyncio.gather(
        _glass_behind(link, slow_whep, warmup, duration),
        measure_glass(None, "whep", fast_whep, warmup_s=warmup, duration_s=duration),
    )
    return slow, fast


async def measure(
    rate_kbit: int,
    loss: float,
    duration: float,
    *,
    warmup: float = 5.0,
    fixed: bool = False,
    peer: str = "relay",
) -> dict[str, Any]:
    """Both viewers' glass-to-glass figures, the slow viewer's layers over the run, and (with
    layers) the seconds to the top layer once the link is lifted.

    ``peer`` "relay" (``fixed``: one encoding, no adaptation) or "gstreamer" (the native
    comparison peer, bench/gst_whep.py: one encoder, no adaptation). ``cpu`` in the result:
    cores used over the measured window by the camera's worker thread (decode and every
    layer's encode) and by the whole process (which also runs the simulated camera)."""
    link = SlowLink(0).open()
    try:
        link.shape(rate_kbit, loss=loss, latency_ms=200)
        if peer == "gstreamer":
            return await _measure_gstreamer(link, rate_kbit, loss, duration, warmup)
        return await _measure_relay(link, rate_kbit, loss, duration, warmup, fixed)
    finally:
        link.close()


async def _measure_relay(
    link: SlowLink, rate_kbit: int, loss: float, duration: float, warmup: float, fixed: bool
) -> dict[str, Any]:
    layers = LayersConfig(low=False, adapt=False) if fixed else LayersConfig()
    cam = dataclasses.replace(CameraConfig(simulate=True), layers=layers)
    cfg = RelayConfig(host="0.0.0.0", port=0, cameras=(cam,))
    async with running_relay(cfg, host="0.0.0.0") as relay:
        slow_whep = f"http://{link.relay_address}:{relay.port}/cameras/default/whep"
        seen: list[str] = []
        trace: list[Any] = []
        cpu: dict[str, float] = {}
        t0 = time.monotonic()

        async def watch_layers() -> None:
            started: tuple[float, float, float] | None = None
            while True:
                now = time.monotonic()
                session = _slow_session(relay, link.viewer_address)
                if session is not None:
                    q = session.track.quality()
                    seen.append(q["layer"])
                    trace.append(
                        (
                            round(now - t0, 1),
                            q["layer"],
                            q["estimate"],
                            q["loss"],
                            q["rtt_ms"],
                            q["probing"],
                            # the plain-link viewers' layers, for comparison
                            [
                                o.track.quality()["layer"]
                                for o in relay.peers.sessions.values()
                                if o is not session
                            ],
                        )
                    )
                # CPU over the measured window: from the end of the warm-up on.
                if started is None and now - t0 >= warmup + 5:
                    started = (now, _thread_cpu("pipeline-"), time.process_time())
                elif started is not None:
                    span = now - started[0]
                    cpu["worker_cores"] = round((_thread_cpu("pipeline-") - started[1]) / span, 3)
                    cpu["process_cores"] = round((time.process_time() - started[2]) / span, 3)
                await asyncio.sleep(1.0)

        watcher = asyncio.create_task(watch_layers())
        try:
            slow, fast = await _both_viewers(link, slow_whep, relay.whep(), warmup, duration)
        finally:
            watcher.cancel()
        result: dict[str, Any] = {
            "peer": "relay",
            "rate_kbit": rate_kbit,
            "loss": loss,
            "layers": not fixed,
            "slow": slow,
            "fast": fast,
            "cpu": cpu,
            "slow_layers": {name: seen.count(name) for name in dict.fromkeys(seen)},
            "trace": trace,
        }
        if not fixed:
            # A viewer that held on: its page keeps playing while the link is lifted.
            result["lifted_to_top_s"] = await _lifted(relay, link, slow_whep)
        return result


async def _measure_gstreamer(
    link: SlowLink, rate_kbit: int, loss: float, duration: float, warmup: float
) -> dict[str, Any]:
    from .run import BENCH, SYSTEM_PYTHON, free_port, wait_port

    options = SimulatorOptions(control_port=0, stream_port=0)
    async with SimulatedCamera(options) as sim:
        port = free_port()
        proc = await asyncio.create_subprocess_exec(
            SYSTEM_PYTHON, str(BENCH / "gst_whep.py"), "--camera", sim.stream_url,
            "--host", "0.0.0.0", "--port", str(port),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            await asyncio.to_thread(wait_port, port, 30)
            before = procstat.sample(proc.pid).cpu
            t0 = time.monotonic()
            slow, fast = await _both_viewers(
                link,
                f"http://{link.relay_address}:{port}/whep",
                f"http://127.0.0.1:{port}/whep",
                warmup,
                duration,
            )
            cores = (procstat.sample(proc.pid).cpu - before) / (time.monotonic() - t0)
        finally:
            if proc.returncode is None:
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 10)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
    return {
        "peer": "gstreamer",
        "rate_kbit": rate_kbit,
        "loss": loss,
        "layers": False,
        "slow": slow,
        "fast": fast,
        "cpu": {"process_cores": round(cores, 3)},
    }


async def _lifted(relay: RunningRelay, link: SlowLink, whep: str) -> float | None:
    """Start a slow viewer, let it settle on a lower layer, lift the link, time the way up."""
    proc = await link.spawn(
        [
            "env", f"ESP32_RELAY_NETNS_ADDR={link.relay_address}",
            sys.executable, "-m", "bench.glass", "--whep", whep, "--warmup", "1",
            "--duration", str(LIFT_TIMEOUT_S + 15),
        ]
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            session = _slow_session(relay, link.viewer_address)
            if session is not None and session.track.layer != 0:
                break
            await asyncio.sleep(0.2)
        else:
            return None
        await asyncio.sleep(3)
        link.lift()
        return await _back_on_top(relay, link.viewer_address)
    finally:
        proc.kill()
        await proc.wait()


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=int, default=600, help="kbit/s of the slow link")
    ap.add_argument("--loss", type=float, default=0.01, help="share of its packets dropped")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds measured")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds after the first frame")
    ap.add_argument("--fixed", action="store_true", help="one encoding, no adaptation")
    ap.add_argument("--gstreamer", action="store_true", help="the GStreamer peer instead")
    args = ap.parse_args(argv)
    peer = "gstreamer" if args.gstreamer else "relay"
    result = asyncio.run(
        measure(
            args.rate, args.loss, args.duration, warmup=args.warmup, fixed=args.fixed, peer=peer
        )
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
