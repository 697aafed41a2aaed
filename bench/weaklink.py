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
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import time
from typing import Any

from relay.config import CameraConfig, RelayConfig
from relay.testing.relay import RunningRelay, running_relay
from relay.testing.slowlink import SlowLink
from relay.video.config import LayersConfig

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
        raise RuntimeError(f"glass behind the slow link failed: {err.decode()[-2000:]}")
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


async def measure(
    rate_kbit: int, loss: float, duration: float, *, warmup: float = 5.0, fixed: bool = False
) -> dict[str, Any]:
    """Both viewers' glass-to-glass figures, the slow viewer's layers over the run, and (with
    layers) the seconds to the top layer once the link is lifted."""
    layers = LayersConfig(low=False, adapt=False) if fixed else LayersConfig()
    cam = dataclasses.replace(CameraConfig(simulate=True), layers=layers)
    cfg = RelayConfig(host="0.0.0.0", port=0, cameras=(cam,))
    link = SlowLink(0).open()
    try:
        link.shape(rate_kbit, loss=loss, latency_ms=200)
        async with running_relay(cfg, host="0.0.0.0") as relay:
            slow_whep = f"http://{link.relay_address}:{relay.port}/cameras/default/whep"
            seen: list[str] = []
            trace: list[Any] = []
            t0 = time.monotonic()

            async def watch_layers() -> None:
                while True:
                    session = _slow_session(relay, link.viewer_address)
                    if session is not None:
                        q = session.track.quality()
                        seen.append(q["layer"])
                        trace.append(
                            (
                                round(time.monotonic() - t0, 1),
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
                    await asyncio.sleep(1.0)

            watcher = asyncio.create_task(watch_layers())
            try:
                slow, fast = await asyncio.gather(
                    _glass_behind(link, slow_whep, warmup, duration),
                    measure_glass(None, "whep", relay.whep(), warmup_s=warmup, duration_s=duration),
                )
            finally:
                watcher.cancel()
            result: dict[str, Any] = {
                "rate_kbit": rate_kbit,
                "loss": loss,
                "layers": not fixed,
                "slow": slow,
                "fast": fast,
                "slow_layers": {name: seen.count(name) for name in dict.fromkeys(seen)},
                "trace": trace,
            }
            if not fixed:
                # A viewer that held on: its page keeps playing while the link is lifted.
                result["lifted_to_top_s"] = await _lifted(relay, link, slow_whep)
            return result
    finally:
        link.close()


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
    args = ap.parse_args(argv)
    result = asyncio.run(
        measure(args.rate, args.loss, args.duration, warmup=args.warmup, fixed=args.fixed)
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
