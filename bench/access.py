"""What access control costs a viewer: WHEP answer time and one viewer's CPU, with auth
off and on, alternated in one run (``python -m bench.access``, or part of ``make bench``).

Each relay is ``esp32-relay`` from a configuration file (its built-in simulated camera, the
same in both); auth on means every WHEP request carries a token that is looked up, and
the viewer's data channel is checked against its role.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiortc import RTCConfiguration, RTCPeerConnection

from relay.testing.access import TOKENS, auth_config
from relay.testing.process import auth_toml, free_port, relay_process
from relay.testing.whep import WhepViewer

from . import procstat
from .turn import relay_config

OFFERS = 20


async def _answer_times(http: aiohttp.ClientSession, whep: str, token: str | None) -> list[float]:
    headers = {"Content-Type": "application/sdp"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    times = []
    for _ in range(OFFERS):
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTransceiver("video", direction="recvonly")
        pc.createDataChannel("control")
        await pc.setLocalDescription(await pc.createOffer())
        t0 = time.perf_counter()
        async with http.post(whep, data=pc.localDescription.sdp, headers=headers) as r:
            await r.read()
            location = r.headers.get("Location")
            assert r.status == 201, r.status
        times.append((time.perf_counter() - t0) * 1000)
        base = whep.split("/cameras/")[0]
        async with http.delete(base + str(location), headers=headers):
            pass
        await pc.close()
    return times


async def _one_viewer_cpu(pid: int, whep: str, token: str | None, seconds: float) -> float:
    async with aiohttp.ClientSession() as http:
        viewer = WhepViewer(whep, decode_code=False, token=token)
        try:
            await viewer.connect(http, channel=True)
            await viewer.wait_frames(10, timeout=20)
            await asyncio.sleep(2.0)
            s0, t0 = procstat.sample(pid), time.monotonic()
            await asyncio.sleep(seconds)
            s1, t1 = procstat.sample(pid), time.monotonic()
            return (s1.cpu - s0.cpu) / (t1 - t0)
        finally:
            await viewer.close(http)


async def _one(auth: bool, seconds: float, camera: tuple[str, str] | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "relay.toml"
        text = relay_config(free_port(), camera)
        config.write_text(text + (auth_toml(auth_config()) if auth else ""))
        async with relay_process(config) as relay:
            whep = relay.base + "/cameras/default/whep"
            token = TOKENS["viewer"] if auth else None
            await asyncio.sleep(1.0)
            async with aiohttp.ClientSession() as http:
                times = await _answer_times(http, whep, token)
            cpu = await _one_viewer_cpu(relay.process.pid, whep, token, seconds)
    return {"auth": auth, "answer_ms_median": round(statistics.median(times), 2),
            "answer_ms_p90": round(sorted(times)[int(0.9 * len(times))], 2),
            "one_viewer_cores": round(cpu, 4)}  # fmt: skip


async def measure(
    rounds: int = 3, seconds: float = 10.0, camera: tuple[str, str] | None = None
) -> dict[str, Any]:
    """``camera``: a simulated board's stream and control URLs (the benchmark's own
    simulator process, so the relay's CPU is its own); None: the built-in one."""
    runs = []
    for _ in range(rounds):
        for auth in (False, True):
            runs.append(await _one(auth, seconds, camera))
    out: dict[str, Any] = {"runs": runs}
    for auth in (False, True):
        mine = [r for r in runs if r["auth"] is auth]
        out["on" if auth else "off"] = {
            "answer_ms_median": round(statistics.median(r["answer_ms_median"] for r in mine), 2),
            "one_viewer_cores": round(statistics.median(r["one_viewer_cores"] for r in mine), 4),
        }
    return out


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    print(json.dumps(asyncio.run(measure(2 if quick else 3, 5.0 if quick else 10.0)), indent=1))
