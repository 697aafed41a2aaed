"""The processor chain over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from relay.config import CameraConfig, RelayConfig
from relay.testing.relay import RunningRelay, running_relay
from tests.unit.processing.stages import spec


@pytest.fixture
async def relay() -> AsyncIterator[RunningRelay]:
    cfg = RelayConfig(
        host="127.0.0.1",
        port=0,
        cameras=(
            CameraConfig(
                simulate=True, processors=(spec("grayscale", enabled=False), spec("motion"))
            ),
        ),
    )
    async with running_relay(cfg) as r:
        yield r


async def test_http_lists_changes_and_replaces_the_chain(
    relay: RunningRelay, http: aiohttp.ClientSession
) -> None:
    url = f"{relay.base}/api/cameras/default/processors"
    async with http.get(url) as r:
        assert r.status == 200
        body = await r.json()
    assert [(s["id"], s["enabled"]) for s in body["processors"]] == [
        ("grayscale", False),
        ("motion", True),
    ]
    assert {a["name"] for a in body["available"]} >= {"faces", "grayscale"}
    assert body["events"] == []
    async with http.post(url, json={"action": "enable", "processor": "grayscale", "id": 7}) as r:
        assert r.status == 200
        reply = await r.json()
    assert reply["id"] == 7 and reply["ok"] and reply["processors"][0]["enabled"]
    assert relay.camera().pipeline.processor is relay.camera().processing.chain
    async with http.post(
        url, json={"action": "set", "processor": "motion", "params": {"x": 1}}
    ) as r:
        assert r.status == 400
        reply = await r.json()
    assert reply["error"] == "invalid" and "unknown parameter" in reply["message"]
    async with http.put(url, json=[{"name": "flip", "params": {"mode": "vertical"}}]) as r:
        assert r.status == 200
        reply = await r.json()
    assert [s["id"] for s in reply["processors"]] == ["flip"]
    async with http.put(url, json=[{"name": "os:system"}]) as r:
        assert r.status == 400
    async with http.put(url, data=b"{nope") as r:
        assert r.status == 400 and (await r.json())["error"] == "invalid"
    async with http.get(f"{relay.base}/api/cameras/nope/processors") as r:
        assert r.status == 404
    async with http.get(f"{relay.base}/api/cameras/default") as r:
        info = await r.json()
    assert info["processing"] == [
        {
            "id": "flip",
            "name": "flip",
            "enabled": True,
            "error": None,
            "ms": info["processing"][0]["ms"],
        }
    ]
    assert "process" in info["pipeline"]["latency_ms"]
    async with http.get(f"{relay.base}/metrics") as r:
        assert r.status == 200 and r.content_type == "text/plain"
        text = await r.text()
    assert 'esp32_relay_processor_enabled{camera="default",processor="flip"} 1' in text
