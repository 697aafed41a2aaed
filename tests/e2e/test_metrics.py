"""/metrics, read with the Prometheus client's own parser: the counters move the right way
when frames flow, a viewer joins, a control request is answered and a fault happens."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from relay.testing.relay import RunningRelay
from relay.testing.whep import WhepViewer

pytestmark = pytest.mark.network


async def _scrape(http: aiohttp.ClientSession, base: str) -> dict[tuple[str, tuple], float]:
    async with http.get(base + "/metrics") as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=")
        text = await r.text()
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _get(m: dict, name: str, **labels: str) -> float:
    return m[(name, tuple(sorted(labels.items())))]


async def test_metrics_parse_and_move_with_what_happens(relay: RunningRelay, http) -> None:
    cam = {"camera": "default"}
    await asyncio.sleep(1.0)  # the board's stream is flowing
    before = await _scrape(http, relay.base)
    assert _get(before, "esp32_relay_viewers", kind="webrtc", **cam) == 0
    assert _get(before, "esp32_relay_camera_connected", **cam) == 1
    assert "process_cpu_seconds_total" in {name for name, _ in before}

    v = WhepViewer(relay.whep())
    await v.connect(http, channel=True)
    try:
        await v.wait_frames(20, timeout=15)
        reply = await v.request({"op": "set", "var": "brightness", "val": 1})
        assert reply["ok"], reply
        bad = await v.request({"op": "set", "var": "brightness", "val": 99})
        assert not bad["ok"]
        async with http.get(relay.base + "/cameras/default/stream.mjpg") as mjpeg:
            await mjpeg.content.readline()
            during = await _scrape(http, relay.base)
    finally:
        await v.close(http)
    after = await _scrape(http, relay.base)

    assert _get(during, "esp32_relay_viewers", kind="webrtc", **cam) == 1
    assert _get(during, "esp32_relay_viewers", kind="mjpeg", **cam) == 1
    for name in ("esp32_relay_frames_received_total", "esp32_relay_frames_encoded_total",
                 "esp32_relay_frames_sent_total", "esp32_relay_keyframes_total",
                 "esp32_relay_encoded_bytes_total"):  # fmt: skip
        assert _get(after, name, **cam) > _get(before, name, **cam), name
    assert _get(after, "esp32_relay_control_requests_total", outcome="ok", **cam) >= 1
    assert _get(after, "esp32_relay_control_requests_total", outcome="invalid", **cam) == 1
    decode = _get(after, "esp32_relay_stage_seconds_count", stage="decode", **cam)
    assert decode > 0
    assert _get(after, "esp32_relay_stage_seconds_bucket", stage="decode", le="+Inf", **cam) == (
        decode
    )
    assert _get(after, "esp32_relay_board_request_seconds_count", **cam) >= 1
    assert _get(after, "esp32_relay_viewers", kind="webrtc", **cam) == 0


async def test_a_board_that_goes_away_counts_a_reconnect(relay: RunningRelay, http) -> None:
    cam = relay.camera()
    assert cam.simulator is not None
    await asyncio.sleep(1.0)
    before = await _scrape(http, relay.base)
    await cam.simulator.stop()
    for _ in range(50):  # bounded: 5 s
        after = await _scrape(http, relay.base)
        if _get(after, "esp32_relay_camera_connected", camera="default") == 0:
            break
        await asyncio.sleep(0.1)
    assert _get(after, "esp32_relay_camera_connected", camera="default") == 0
    reconnects = "esp32_relay_stream_reconnects_total"
    assert (
        _get(after, reconnects, camera="default") == _get(before, reconnects, camera="default") + 1
    )
