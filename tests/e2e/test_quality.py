"""A viewer asks what it gets, and limits itself to the low layer ("data saver")."""

from __future__ import annotations

import aiohttp
import pytest

from relay.config import RelayConfig
from relay.simulator import SimulatedCamera, SimulatorOptions
from relay.testing.relay import RunningRelay, camera_at, running_relay
from relay.testing.whep import WhepViewer

pytestmark = pytest.mark.network


async def test_data_saver_moves_a_viewer_to_the_low_layer_and_back(
    relay: RunningRelay, http
) -> None:
    v = WhepViewer(relay.whep())
    try:
        await v.connect(http, channel=True)
        frames = await v.wait_size(800, 600, 5)
        assert (frames[-1].width, frames[-1].height) == (800, 600)
        reply = await v.request({"op": "quality"})
        assert reply["ok"] and reply["layer"] == "full" and reply["limit"] == "auto"
        assert reply["layers"] == ["full", "low", "low-half-rate"]

        # From here on: the viewer passed through "low" on its way up, as it started.
        since = len(v.messages)
        reply = await v.request({"op": "quality", "limit": "low"})
        assert reply["ok"] and reply["limit"] == "low" and reply["target"] == "low"
        low = await v.wait_frames(5, timeout=10, where=lambda f: f.width == 400)
        assert all((f.width, f.height) == (400, 300) and f.counter >= 0 for f in low)
        pushed = await v.wait_message(
            lambda m: m.get("kind") == "quality" and m.get("layer") == "low",
            timeout=5,
            start=since,
        )
        assert pushed["width"] == 400 and pushed["limit"] == "low"
        # Only the layer someone receives runs: the full-size encoder stops.
        full, low_layer = relay.camera().pipeline.layers
        encoded = full.encoder.encoded
        await v.wait_frames(10, timeout=10)
        assert full.encoder.encoded == encoded and low_layer.encoder.encoded > 0

        bad = await v.request({"op": "quality", "limit": "huge"})
        assert bad["ok"] is False and bad["error"] == "invalid" and "huge" in bad["message"]
        bad = await v.request({"op": "quality", "limit": 3})
        assert bad["ok"] is False and bad["error"] == "invalid"

        reply = await v.request({"op": "quality", "limit": "auto"})
        assert reply["ok"] and reply["limit"] == "auto"
        back = await v.wait_frames(5, timeout=15, where=lambda f: f.width == 800)
        assert all(f.counter >= 0 for f in back)
    finally:
        await v.close(http)


async def test_a_viewer_of_a_five_fps_camera_is_probed_up_to_the_full_layer() -> None:
    """A board at a large frame size sends about 5 fps; a viewer starts on its half-rate
    rung (a frame each 400 ms), so its probes' padding cannot ride on its frames alone."""
    sim = SimulatedCamera(SimulatorOptions(control_port=0, stream_port=0, fps=5))
    await sim.start()
    try:
        cfg = RelayConfig(
            host="127.0.0.1", port=0, cameras=(camera_at(sim.stream_url, sim.control_url),)
        )
        async with running_relay(cfg) as relay, aiohttp.ClientSession() as http:
            v = WhepViewer(relay.whep())
            await v.connect(http, channel=True)
            try:
                first = await v.wait_frames(1, timeout=10)
                assert (first[0].width, first[0].height) == (400, 300)
                full = await v.wait_size(800, 600, n=5, timeout=20)
                assert all(f.counter >= 0 for f in full)
                reply = await v.request({"op": "quality"})
                assert reply["ok"] and reply["layer"] == "full", reply
                assert reply["probes"] >= 1, reply
                print(
                    f"\n5 fps camera: full layer {full[0].arrived - first[0].arrived:.1f} s "
                    f"after the first frame; probes {reply['probes']}, "
                    f"failed {reply['probes_failed']} ({reply['probe_failure']})"
                )
            finally:
                await v.close(http)
    finally:
        await sim.stop()
