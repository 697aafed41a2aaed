"""``POST /api/cameras/{name}/control`` and the camera settings in ``GET /api/cameras/{name}``,
against the real relay and simulated boards over loopback sockets."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import aiohttp
import pytest

from relay.config import RelayConfig
from relay.simulator import SimulatedCamera, SimulatorOptions
from relay.testing.relay import RunningRelay, camera_at, running_relay


async def _post(
    http: aiohttp.ClientSession, url: str, body: Any = None, data: bytes | None = None
) -> tuple[int, dict[str, Any]]:
    kwargs: dict[str, Any] = {"data": data} if data is not None else {"json": body}
    async with http.post(url, **kwargs) as r:
        return r.status, await r.json()


async def _camera(http: aiohttp.ClientSession, relay: RunningRelay, name: str = "default") -> Any:
    async with http.get(f"{relay.base}/api/cameras/{name}") as r:
        assert r.status == 200
        return await r.json()


async def _until(cond, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await cond():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_post_control_sets_and_the_camera_api_shows_it(
    relay: RunningRelay, http: aiohttp.ClientSession
) -> None:
    url = f"{relay.base}/api/cameras/default/control"
    status, reply = await _post(http, url, {"var": "special_effect", "val": 2})
    assert status == 200
    assert reply == {"id": None, "ok": True, "var": "special_effect", "val": 2}
    status, reply = await _post(http, url, {"id": "x7", "var": "wb_mode", "val": 3})
    assert (status, reply["id"], reply["ok"]) == (200, "x7", True)
    sim = relay.camera().simulator
    assert sim is not None and sim.status()["special_effect"] == 2

    async def shown() -> bool:
        cam = (await _camera(http, relay))["camera"]
        return cam.get("special_effect") == 2 and cam.get("wb_mode") == 3

    await _until(shown, 3.0)
    info = await _camera(http, relay)
    assert list(info["camera"])[:3] == ["0xd3", "0x111", "0x132"]  # the board's keys, verbatim
    assert info["control"]["reachable"] is True
    status, got = await _post(http, url, {"op": "get"})
    assert status == 200 and got["camera"]["wb_mode"] == 3


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"var": "brightness", "val": 3}, 400, "within -2..2"),
        ({"var": "brightness", "val": True}, 400, "must be an integer"),
        ({"var": "bogus", "val": 1}, 400, "unknown variable"),
        ({"val": 1}, 400, "missing 'var'"),
        ({"var": "awb"}, 400, "missing 'val'"),
        ({"op": "restart"}, 400, "unknown op"),
        ([1], 400, "JSON object"),
        ({"id": [1], "var": "awb", "val": 1}, 400, "'id' must be"),
    ],
)
async def test_post_control_rejects_bad_requests(
    relay: RunningRelay, http: aiohttp.ClientSession, body: Any, status: int, fragment: str
) -> None:
    got_status, reply = await _post(http, f"{relay.base}/api/cameras/default/control", body)
    assert got_status == status
    assert reply["error"] == "invalid" and fragment in reply["message"]
    control = relay.camera().control
    assert control is not None and control.forwarder.stats.control_requests == 0


async def test_post_control_errors_for_bodies_and_cameras(
    relay: RunningRelay, http: aiohttp.ClientSession
) -> None:
    base = f"{relay.base}/api/cameras"
    status, reply = await _post(http, f"{base}/default/control", data=b"{not json")
    assert (status, reply["error"]) == (400, "invalid")
    status, reply = await _post(http, f"{base}/default/control", data=b" " * 5000)
    assert (status, reply["error"]) == (413, "too_large")
    status, reply = await _post(http, f"{base}/nope/control", {"var": "awb", "val": 1})
    assert (status, reply["error"]) == (404, "not_found")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_unreachable_control_server_is_502_and_shown(http: aiohttp.ClientSession) -> None:
    opts = SimulatorOptions(control_port=0, stream_port=0, fps=10)
    async with SimulatedCamera(opts) as sim:
        dead = f"http://127.0.0.1:{_free_port()}"
        cfg = RelayConfig(
            host="127.0.0.1",
            port=0,
            cameras=(camera_at(sim.stream_url, dead),),
        )
        async with running_relay(cfg) as relay:
            t0 = time.monotonic()
            status, reply = await _post(
                http, f"{relay.base}/api/cameras/default/control", {"var": "awb", "val": 0}
            )
            assert (status, reply["error"]) == (502, "camera_unreachable")
            assert time.monotonic() - t0 < 3.0
            info = await _camera(http, relay)
            assert info["camera"] == {} and info["control"]["reachable"] is False

            async def streaming() -> bool:
                return bool((await _camera(http, relay))["connected"])

            await _until(streaming, 5.0)  # the stream does not depend on the control server


async def test_legacy_board_framesize_by_name(http: aiohttp.ClientSession) -> None:
    # An older esp32-camera: SVGA is 9 and QVGA is 5. The relay learns it from /status and the
    # size of the frames, so a name sends the right number.
    opts = SimulatorOptions(control_port=0, stream_port=0, legacy_framesize_enum=True, fps=15)
    async with SimulatedCamera(opts) as sim:
        cfg = RelayConfig(
            host="127.0.0.1",
            port=0,
            cameras=(camera_at(sim.stream_url, sim.control_url),),
        )
        async with running_relay(cfg) as relay:

            async def learned() -> bool:
                info = await _camera(http, relay)
                return info["control"]["framesize_table"] == "legacy"

            await _until(learned, 6.0)
            status, reply = await _post(
                http,
                f"{relay.base}/api/cameras/default/control",
                {"var": "framesize", "val": "QVGA"},
            )
            assert (status, reply["val"]) == (200, 5)
            assert sim.frame_size == (320, 240)

            async def resized() -> bool:
                return (await _camera(http, relay))["camera"].get("framesize") == 5

            await _until(resized, 3.0)
            control = relay.camera().control
            assert control is not None
            sizes = control.state_message()["framesizes"]
            assert sizes["table"] == "legacy" and sizes["learned"]
            assert sizes["sizes"][9] == {"value": 9, "name": "SVGA", "width": 800, "height": 600}
