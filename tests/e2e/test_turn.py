"""Remote viewers through a real TURN server: Debian's coturn, started here inside the
private network namespace with a shared secret; the relay hands out TURN REST credentials
and, with ``ice.relay_only``, uses only relayed candidates itself."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiortc import RTCIceServer
from playwright.async_api import Page

from relay.config import RelayConfig
from relay.routes.keys import CONFIG
from relay.simulator import SimulatedCamera, SimulatorOptions
from relay.testing.browser import READ_CODE, wait_for_live_code
from relay.testing.env import skip_or_fail
from relay.testing.relay import camera_at, running_relay
from relay.testing.turn import TurnServer, coturn_missing_reason, running_coturn
from relay.testing.whep import WhepViewer
from relay.video.framecode import elapsed_ms
from signaling.ice import IcePolicy
from signaling.turn import TurnRest

pytestmark = pytest.mark.network

TIMEOUT = aiohttp.ClientTimeout(total=30)


@pytest.fixture
async def turn(netns_addr: str) -> AsyncIterator[TurnServer]:
    reason = coturn_missing_reason()
    if reason is not None:
        skip_or_fail(reason)
    async with running_coturn(netns_addr) as server:
        yield server


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedCamera]:
    async with SimulatedCamera(SimulatorOptions(control_port=0, stream_port=0, fps=15)) as camera:
        yield camera


def _cfg(sim: SimulatedCamera, turn: TurnServer, relay_only: bool) -> RelayConfig:
    return RelayConfig(
        host="127.0.0.1",
        port=0,
        cameras=(camera_at(sim.stream_url, sim.control_url),),
        ice=IcePolicy(turn_rest=TurnRest((turn.url,), turn.secret, 600), relay_only=relay_only),
    )


async def _relayed(turn: TurnServer, users: int, timeout: float = 15.0) -> dict[str, int]:
    """coturn's own account of what it relayed: its usage lines, logged on refreshes and
    when an allocation is deleted, until ``users`` user names carried 100 kB each."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        relayed = turn.relayed_bytes()
        if sum(1 for b in relayed.values() if b > 100_000) >= users:
            break
        await asyncio.sleep(0.2)
    return turn.relayed_bytes()


async def test_an_aiortc_viewer_plays_through_coturn_with_relay_only_on_both_sides(
    sim: SimulatedCamera, turn: TurnServer
) -> None:
    cfg = _cfg(sim, turn, relay_only=True)
    async with running_relay(cfg) as relay, aiohttp.ClientSession(timeout=TIMEOUT) as http:
        # The viewer's credentials come from the relay's page configuration, as a
        # browser's do: made per session from the shared secret.
        cred = relay.app[CONFIG].ice.servers_for("test-viewer")[0]
        viewer = WhepViewer(
            relay.whep(),
            ice_servers=[
                RTCIceServer(
                    urls=cred["urls"], username=cred["username"], credential=cred["credential"]
                )
            ],
            relay_only=True,
        )
        try:
            await viewer.connect(http)
            await viewer.wait_size(800, 600, timeout=20)
            frames = await viewer.wait_frames(30, timeout=20)
            assert all((f.width, f.height) == (800, 600) for f in frames)
            assert all(f.counter >= 0 for f in frames)
            latency = sorted(elapsed_ms(f.send_ms) for f in frames[-20:])
            print(f"\nthrough coturn: camera-to-decoded median {latency[10]} ms")
            # Only relayed candidates in the relay's answer.
            session = next(iter(relay.peers.sessions.values()))
            answer = session.pc.localDescription.sdp
            candidates = [x for x in answer.splitlines() if x.startswith("a=candidate:")]
            assert candidates and all(" typ relay" in c for c in candidates)
        finally:
            await viewer.close(http)
    relayed = await _relayed(turn, 2)
    # Both sides' allocations carried the video: the relay's (named after the viewer's
    # identity, "anyone" with access control off) and the viewer's.
    assert relayed.get(cred["username"], 0) > 100_000, (relayed, turn.lines[-20:])
    assert any(u.endswith(":anyone") and b > 100_000 for u, b in relayed.items()), relayed


async def _play(page: Page, base: str) -> tuple[str, int]:
    """Open the kiosk page; once live, the local candidate type of its path and the median
    of what it shows against the camera's clock (frame code) over three seconds."""
    await page.goto(base + "/kiosk?camera=default")
    await wait_for_live_code(page, 20)
    kind = await page.evaluate(
        """async () => {
          const s = await window.kioskSession.pc.getStats();
          let pair = null, local = {};
          s.forEach((r) => { if (r.type === "local-candidate") local[r.id] = r; });
          s.forEach((r) => {
            const ok = r.nominated && r.state === "succeeded";
            if (r.type === "candidate-pair" && ok) pair = r;
          });
          return pair && local[pair.localCandidateId].candidateType;
        }"""
    )
    shown = []
    for _ in range(30):
        code = await page.evaluate(READ_CODE)
        if code is not None:
            shown.append(elapsed_ms(code[0]))
        await page.wait_for_timeout(100)
    shown.sort()
    return kind, shown[len(shown) // 2]


@pytest.mark.browser
async def test_chromium_with_relay_policy_plays_through_coturn(
    sim: SimulatedCamera, turn: TurnServer, page: Page
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # The kiosk page gets its TURN credentials and the relay-only policy from the relay.
    async with running_relay(_cfg(sim, turn, relay_only=True)) as relay:
        kind, through_turn = await _play(page, relay.base)
        assert kind == "relay"
        await page.goto("about:blank")  # the page's allocation is released
    relayed = await _relayed(turn, 1)
    assert any(b > 100_000 for b in relayed.values()), (relayed, turn.lines[-20:])
    direct_cfg = RelayConfig(
        host="127.0.0.1", port=0, cameras=(camera_at(sim.stream_url, sim.control_url),)
    )
    async with running_relay(direct_cfg) as relay:
        kind, direct = await _play(page, relay.base)
        assert kind == "host"
    print(f"\nChromium camera-to-page median: {through_turn} ms through coturn, {direct} ms direct")
    assert not errors, errors
