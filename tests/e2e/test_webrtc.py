"""The relay end to end: simulator over real sockets -> relay -> aiortc viewers over WHEP."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from relay.app import PEERS
from relay.testing.relay import RunningRelay, running_relay
from relay.testing.whep import WhepViewer

pytestmark = pytest.mark.network


async def _viewer(relay: RunningRelay, http: aiohttp.ClientSession) -> WhepViewer:
    v = WhepViewer(relay.whep())
    await v.connect(http)
    return v


async def test_viewer_receives_the_simulators_frames(relay: RunningRelay, http) -> None:
    v = await _viewer(relay, http)
    try:
        await v.wait_size(800, 600)
        frames = await v.wait_frames(25, timeout=15)
        assert {(f.width, f.height) for f in frames} == {(800, 600)}
        counters = [f.counter for f in frames]
        # The frame counter drawn by the simulator advances: the content is live.
        assert counters == sorted(counters)
        assert counters[-1] - counters[0] >= 20
        # Each frame reached the viewer soon after the simulator sent it.
        lag_ms = [(f.arrived * 1000) % 2**32 - f.send_ms for f in frames[5:]]
        assert max(lag_ms) < 1000, lag_ms
    finally:
        await v.close(http)


async def test_ten_viewers_all_get_frames(relay: RunningRelay, http) -> None:
    viewers = await asyncio.gather(*(_viewer(relay, http) for _ in range(10)))
    try:
        await asyncio.gather(*(v.wait_size(800, 600, timeout=30) for v in viewers))
        results = await asyncio.gather(*(v.wait_frames(15, timeout=30) for v in viewers))
        for frames in results:
            # Ten aiortc receivers decoding on this machine's cores beside the relay fall
            # behind now and then, and the one that does is moved down for a while.
            assert {(f.width, f.height) for f in frames} <= {(800, 600), (400, 300)}
            assert frames[-1].counter > frames[0].counter
        cam = relay.camera()
        assert cam.pipeline.fanout.viewers == 10
        # One encoder for all: far fewer encodes than frames delivered.
        assert cam.pipeline.layers[0].encoder.recreated == 0
    finally:
        await asyncio.gather(*(v.close(http) for v in viewers))


async def test_resolution_change_keeps_every_viewer_playing(relay: RunningRelay, http) -> None:
    viewers = [await _viewer(relay, http) for _ in range(3)]
    try:
        await asyncio.gather(*(v.wait_size(800, 600, 5, timeout=20) for v in viewers))
        control = relay.camera().cfg.resolved_control_url()
        async with http.get(f"{control}/control", params={"var": "framesize", "val": "6"}) as r:
            assert r.status == 200
        small = await asyncio.gather(
            *(
                v.wait_frames(10, timeout=15, where=lambda f: (f.width, f.height) == (320, 240))
                for v in viewers
            )
        )
        for frames in small:
            assert frames[-1].counter > frames[0].counter
        async with http.get(f"{control}/control", params={"var": "framesize", "val": "11"}) as r:
            assert r.status == 200
        await asyncio.gather(
            *(v.wait_frames(5, timeout=15, where=lambda f: f.width == 800) for v in viewers)
        )
    finally:
        await asyncio.gather(*(v.close(http) for v in viewers))


async def test_pli_from_a_viewer_yields_a_keyframe(relay: RunningRelay, http) -> None:
    v = await _viewer(relay, http)
    try:
        await v.wait_frames(10, timeout=15)
        await asyncio.sleep(0.6)  # past the keyframe rate limit of the join
        stats = relay.camera().pipeline.stats
        before = stats.keyframes
        await v.send_pli()
        deadline = time.monotonic() + 5
        while stats.keyframes == before and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert stats.keyframes > before
        (session,) = relay.peers.sessions.values()
        assert session.track.keyframe_requests == 1  # the PLI reached the shared encoder
        # The viewer keeps decoding through it.
        await v.wait_frames(5, timeout=5)
    finally:
        await v.close(http)


async def test_bad_offers_get_clear_errors_and_others_keep_playing(
    relay: RunningRelay, http
) -> None:
    v = await _viewer(relay, http)
    try:
        await v.wait_frames(5, timeout=15)
        url = relay.whep()
        async with http.post(url, data="v=0\r\n", headers={"Content-Type": "text/plain"}) as r:
            assert r.status == 415
            assert (await r.json())["error"] == "unsupported_media_type"
        async with http.post(
            url, data="v=0\r\ngarbage\r\n", headers={"Content-Type": "application/sdp"}
        ) as r:
            assert r.status == 400
            body = await r.json()
            assert body["error"] == "bad_offer" and body["message"]
        async with http.post(url, data="hello", headers={"Content-Type": "application/sdp"}) as r:
            assert r.status == 400
        async with http.post(
            relay.whep("nope"), data="v=0\r\n", headers={"Content-Type": "application/sdp"}
        ) as r:
            assert r.status == 404
            assert (await r.json())["error"] == "not_found"
        async with http.delete(f"{url}/doesnotexist") as r:
            assert r.status == 404
        assert relay.peers.count() == 1  # failed offers leave no session behind
        frames = await v.wait_frames(10, timeout=10)
        assert frames[-1].counter > frames[0].counter
    finally:
        await v.close(http)


async def test_cors_preflight(relay: RunningRelay, http) -> None:
    async with http.options(
        relay.whep(),
        headers={
            "Origin": "http://player.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    ) as r:
        assert r.status == 204
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        assert "POST" in r.headers["Access-Control-Allow-Methods"]
        assert "content-type" in r.headers["Access-Control-Allow-Headers"].lower()
        assert "Location" in r.headers["Access-Control-Expose-Headers"]


async def test_sessions_are_forgotten_after_delete_and_failure(relay: RunningRelay, http) -> None:
    relay.peers.disconnect_grace = 0.5
    a, b = await _viewer(relay, http), await _viewer(relay, http)
    await asyncio.gather(a.wait_frames(3, timeout=15), b.wait_frames(3, timeout=15))
    fanout = relay.camera().pipeline.fanout
    assert relay.peers.count() == 2 and fanout.viewers == 2
    await a.close(http)  # DELETE
    assert relay.peers.count() == 1
    # b vanishes without DELETE: the relay notices and cleans up by itself.
    await b.close(None)
    deadline = time.monotonic() + 40
    while relay.peers.count() and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert relay.peers.count() == 0
    assert fanout.viewers == 0
    # Every WebRTC task of the two sessions (both ends ran in this loop) is gone.
    deadline = time.monotonic() + 10
    while _webrtc_tasks() and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert _webrtc_tasks() == []


def _webrtc_tasks() -> list[str]:
    names = []
    for task in asyncio.all_tasks():
        code = getattr(task.get_coro(), "cr_code", None)
        path = code.co_filename if code else ""
        if any(part in path for part in ("/aiortc/", "/aioice/", "/signaling/")):
            names.append(f"{task.get_name()} {code.co_qualname if code else ''}")
    return names


@pytest.mark.parametrize("gso", [True, False])
async def test_viewers_use_the_direct_rtp_path(relay: RunningRelay, http, gso: bool) -> None:
    relay.peers.udp_gso = gso
    v = await _viewer(relay, http)
    try:
        # Keyframes span several packets: with GSO they leave in one system call.
        frames = await v.wait_frames(25, timeout=15)
        assert frames[-1].counter - frames[0].counter >= 20
        (session,) = relay.peers.sessions.values()
        assert session.track.mode == "direct"
        writer = session.track.writer
        assert writer is not None
        assert (writer.gso_sends > 0) == gso
    finally:
        await v.close(http)


async def test_aiortc_sender_path_still_plays(relay: RunningRelay, http) -> None:
    # The path used where the direct writer cannot send (e.g. a TURN relay).
    relay.peers.direct_rtp = False
    v = await _viewer(relay, http)
    try:
        frames = await v.wait_frames(15, timeout=15)
        assert {(f.width, f.height) for f in frames} == {(800, 600)}
        assert frames[-1].counter > frames[0].counter
        (session,) = relay.peers.sessions.values()
        assert session.track.mode == "aiortc"
    finally:
        await v.close(http)


async def test_lost_packet_is_retransmitted_not_repaired_by_keyframe(
    relay: RunningRelay, http
) -> None:
    v = await _viewer(relay, http)
    try:
        await v.wait_frames(10, timeout=15)
        assert v.receiver is not None
        receiver = v.receiver
        original = receiver._handle_rtp_packet
        dropped: list[int] = []

        async def lossy(packet, arrival_time_ms: int) -> None:
            # Lose one packet in the middle of a frame, once.
            if not dropped and not packet.marker:
                dropped.append(packet.sequence_number)
                return
            await original(packet, arrival_time_ms)

        receiver._handle_rtp_packet = lossy  # type: ignore[method-assign]
        (session,) = relay.peers.sessions.values()
        writer = session.track.writer
        assert writer is not None
        frames = await v.wait_frames(25, timeout=15)
        assert dropped
        assert writer.retransmitted >= 1
        # The frame was repaired by the retransmission: no keyframe was needed.
        assert session.track.keyframe_requests == 0
        counters = [f.counter for f in frames]
        assert counters == sorted(counters) and counters[-1] > counters[0]
    finally:
        await v.close(http)


@pytest.mark.parametrize(
    ("addresses", "expect_candidate"),
    # "lo": a real interface, but ICE never offers loopback: nothing to offer at all.
    [((), True), (("t0",), True), (("10.213.0.0/16",), True), (("lo",), False)],
)
async def test_ice_gathers_only_the_chosen_addresses(
    http, netns_addr: str, addresses: tuple[str, ...], expect_candidate: bool
) -> None:
    from dataclasses import replace

    from relay.config import RelayConfig
    from signaling.ice import IcePolicy

    cfg = replace(RelayConfig(host="127.0.0.1", port=0), ice=IcePolicy(addresses=addresses))
    async with running_relay(cfg) as relay:
        v = WhepViewer(relay.whep())
        try:
            if not expect_candidate:
                # An answer without a candidate could never connect: a clear 503 instead.
                with pytest.raises(RuntimeError, match="503.*no network address to offer"):
                    await v.connect(http)
                assert not relay.app[PEERS].sessions
                return
            await v.connect(http)
            answer = v.pc.remoteDescription.sdp
            candidates = [line for line in answer.splitlines() if line.startswith("a=candidate")]
            assert candidates and all(netns_addr in c for c in candidates), candidates
            await v.wait_frames(3, timeout=15)
        finally:
            await v.close(http)


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        ("eht0", "no interface named 'eht0' (this machine has: "),
        ("300.1.1.1/24", "'300.1.1.1/24' is not a valid network"),
        ("192.0.2.0/24", "no address of this machine is in 192.0.2.0/24"),
    ],
)
def test_ice_addresses_that_match_nothing_are_refused_at_start(pattern: str, says: str) -> None:
    from dataclasses import replace

    from relay.app import create_app
    from relay.config import ConfigError, RelayConfig
    from signaling.ice import IcePolicy

    cfg = replace(RelayConfig(), ice=IcePolicy(addresses=("t0", pattern)))
    with pytest.raises(ConfigError, match="ice.addresses") as caught:
        create_app(cfg)
    assert says in str(caught.value)
    assert "'t0'" not in str(caught.value)  # the good one is not blamed


async def test_an_offer_without_candidates_is_refused_with_the_reason(
    relay: RunningRelay, http: aiohttp.ClientSession
) -> None:
    """A trickle-ICE client's offer: aiortc cannot take its candidates later, so the
    session could never connect. A 400 that says so, not a 503 blaming the relay."""
    from aiortc import RTCConfiguration, RTCPeerConnection

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        lines = pc.localDescription.sdp.split("\r\n")
        offer = "\r\n".join(line for line in lines if not line.startswith("a=candidate"))
    finally:
        await pc.close()
    async with http.post(
        relay.whep(), data=offer, headers={"Content-Type": "application/sdp"}
    ) as r:
        body = await r.json()
    assert r.status == 400 and body["error"] == "bad_offer", body
    assert "no ICE candidate" in body["message"]
    assert not relay.app[PEERS].sessions
