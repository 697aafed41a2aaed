"""aiortc viewers behind 300 kbit/s, behind 1 Mbit/s and on the plain link, at once.

The two slow viewers run in namespaces of their own (:class:`relay.testing.slowlink.
SlowLink`: tbf towards the viewer) as ``relay.testing.linkviewer`` processes; the third
in this process, over loopback. Each must end on the rung its link carries, receive
frames of that rung's size with the simulator's frame code, and the camera must have run
each of its encoders once per frame, whatever the number of viewers on it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import time
from typing import Any

import aiohttp
import pytest

from relay.config import CameraConfig, RelayConfig
from relay.testing.relay import RunningRelay, running_relay
from relay.testing.slowlink import SlowLink
from relay.testing.whep import WhepViewer

pytestmark = pytest.mark.network

DURATION = 40  # seconds each viewer watches
TAIL = 10  # the last seconds, where each viewer is judged

# link (kbit/s, None: plain) -> the rung that fits it and that rung's picture width
EXPECTED = {300: ("low-half-rate", 400), 1000: ("low", 400), None: ("full", 800)}


def _session_from(relay: RunningRelay, address: str) -> Any:
    for session in relay.peers.sessions.values():
        if session.remote and session.remote.startswith(address):
            return session
    return None


async def _viewer_behind(link: SlowLink, whep: str) -> list[dict[str, Any]]:
    proc = await link.spawn(
        [sys.executable, "-m", "relay.testing.linkviewer", "--endpoint", whep,
         "--duration", str(DURATION)]
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), DURATION + 30)
    assert proc.returncode == 0, err.decode()[-2000:]
    return [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]


async def test_each_viewer_ends_on_the_rung_its_link_carries_and_encoders_run_once(
    netns_addr: str,
) -> None:
    cam = dataclasses.replace(CameraConfig(simulate=True), frame_code=True)
    cfg = RelayConfig(host="0.0.0.0", port=0, cameras=(cam,))
    links = {300: SlowLink(1).open(), 1000: SlowLink(2).open()}
    try:
        for rate, link in links.items():
            link.shape(rate, latency_ms=100)
        async with running_relay(cfg, host="0.0.0.0") as relay:
            camera = relay.camera()
            encoded_before = [layer.encoder.encoded for layer in camera.pipeline.layers]
            frames_before = camera.pipeline.stats.frames_encoded
            rungs: dict[int | None, list[str]] = {key: [] for key in EXPECTED}

            async def watch() -> None:
                while True:
                    for rate, link in links.items():
                        session = _session_from(relay, link.viewer_address)
                        if session is not None:
                            rungs[rate].append(session.track.quality()["target"])
                    for session in relay.peers.sessions.values():
                        if session.remote and session.remote.startswith("127."):
                            rungs[None].append(session.track.quality()["target"])
                    await asyncio.sleep(1.0)

            local = WhepViewer(relay.whep())
            async with aiohttp.ClientSession() as http:
                await local.connect(http)
                watcher = asyncio.create_task(watch())
                try:
                    started = time.time()
                    reports = await asyncio.gather(
                        *(_viewer_behind(link, relay.whep().replace(
                            "127.0.0.1", link.relay_address)) for link in links.values())
                    )  # fmt: skip
                    local_tail = [f for f in local.frames if f.arrived > started + DURATION - TAIL]
                finally:
                    watcher.cancel()
                    await local.close(http)
            encoded = [
                layer.encoder.encoded - before
                for layer, before in zip(camera.pipeline.layers, encoded_before, strict=True)
            ]
            frames = camera.pipeline.stats.frames_encoded - frames_before
    finally:
        for link in links.values():
            link.close()

    for rate, report in zip(links, reports, strict=True):
        print(rate, rungs[rate], [(s["frames"], s["width"]) for s in report])
    print(None, rungs[None], len(local_tail), encoded, frames)
    # Each viewer ends on the rung its link carries: at the end, and most of its last seconds.
    for key, (rung, _) in EXPECTED.items():
        seen = rungs[key]
        assert seen and seen[-1] == rung, (key, seen)
        assert seen[-TAIL:].count(rung) >= TAIL * 0.7, (key, seen)
    # ... and receives moving pictures of that rung's size, with the simulator's content.
    for (rate, link_report), (_, width) in zip(
        zip(links, reports, strict=True), (EXPECTED[r] for r in links), strict=True
    ):
        tail = link_report[-TAIL:]
        assert sum(s["frames"] for s in tail) >= TAIL * 5, (rate, link_report)
        assert all(s["width"] in (0, width) for s in tail), (rate, link_report)
        assert sum(s["coded"] for s in tail) >= TAIL * 4, (rate, link_report)
    assert len(local_tail) >= TAIL * 20, len(local_tail)
    assert {(f.width, f.height) for f in local_tail} == {(800, 600)}
    assert all(f.counter >= 0 for f in local_tail)
    # Encode once: three viewers on two layers, and no layer encoded more than once per frame.
    assert frames > DURATION * 20, frames
    assert all(0 < n <= frames for n in encoded), (encoded, frames)
