"""The test infrastructure itself: the private network namespace, aiortc and Chromium inside it."""

from __future__ import annotations

import asyncio
import errno
import socket
from typing import Any

import pytest
from aiohttp import web
from aioice.ice import get_host_addresses
from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from relay.testing.browser import serve_app

TEST_TIMEOUT_S = 12.0

PAGE_HTML = "<!doctype html><html><head><title>infra</title></head><body>infra</body></html>"

# Shared by the page scripts: a promise with a deadline, and the addresses of the candidate pair
# the transport selected.
JS_HELPERS = """
const withTimeout = (promise, ms, what) => Promise.race([
  promise,
  new Promise((_, reject) => setTimeout(() => reject(new Error(what + ' timed out')), ms)),
]);
const selectedPair = async (pc) => {
  const stats = await pc.getStats();
  for (const report of stats.values()) {
    if (report.type === 'transport' && report.selectedCandidatePairId) {
      const pair = stats.get(report.selectedCandidatePairId);
      return {
        local: stats.get(pair.localCandidateId).address,
        remote: stats.get(pair.remoteCandidateId).address,
      };
    }
  }
  return null;
};
"""

# Two peer connections inside one page, candidates exchanged directly, one message sent.
JS_LOOPBACK = (
    "async () => {"
    + JS_HELPERS
    + """
  const a = new RTCPeerConnection({iceServers: []});
  const b = new RTCPeerConnection({iceServers: []});
  const candidates = [];
  a.onicecandidate = (e) => { if (e.candidate) { candidates.push(e.candidate.candidate);
                                                 b.addIceCandidate(e.candidate); } };
  b.onicecandidate = (e) => { if (e.candidate) { candidates.push(e.candidate.candidate);
                                                 a.addIceCandidate(e.candidate); } };
  const channel = a.createDataChannel('infra');
  const opened = new Promise((resolve) => { channel.onopen = resolve; });
  const received = new Promise((resolve) => {
    b.ondatachannel = (e) => { e.channel.onmessage = (m) => resolve(m.data); };
  });
  const connected = new Promise((resolve) => {
    a.onconnectionstatechange = () => { if (a.connectionState === 'connected') resolve(); };
  });
  try {
    await a.setLocalDescription();
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription();
    await a.setRemoteDescription(b.localDescription);
    await withTimeout(Promise.all([opened, connected]), 8000, 'loopback connection');
    channel.send('ping');
    const message = await withTimeout(received, 3000, 'loopback message');
    return {state: a.connectionState, message, candidates, pair: await selectedPair(a)};
  } finally {
    a.close();
    b.close();
  }
}
"""
)

# One peer connection in the page; the offer (after gathering, as aiortc does not trickle) goes
# to the aiohttp endpoint, which answers from an aiortc peer that echoes data channel messages.
JS_TO_AIORTC = (
    "async (offerUrl) => {"
    + JS_HELPERS
    + """
  const pc = new RTCPeerConnection({iceServers: []});
  const channel = pc.createDataChannel('infra');
  const opened = new Promise((resolve) => { channel.onopen = resolve; });
  const reply = new Promise((resolve) => { channel.onmessage = (m) => resolve(m.data); });
  try {
    await pc.setLocalDescription();
    await withTimeout(new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') resolve();
      pc.onicegatheringstatechange = () => {
        if (pc.iceGatheringState === 'complete') resolve();
      };
    }), 5000, 'ICE gathering');
    const response = await withTimeout(fetch(offerUrl, {
      method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({sdp: pc.localDescription.sdp, type: pc.localDescription.type}),
    }), 5000, 'answer');
    if (!response.ok) throw new Error('offer rejected: ' + response.status);
    await pc.setRemoteDescription(await response.json());
    await withTimeout(opened, 8000, 'data channel open');
    channel.send('ping');
    const message = await withTimeout(reply, 3000, 'echo');
    return {state: pc.connectionState, message, pair: await selectedPair(pc)};
  } finally {
    pc.close();
  }
}
"""
)


def candidate_addresses(sdp: str) -> set[str]:
    """Connection addresses of the ``a=candidate`` lines of an SDP."""
    addresses = set()
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            # foundation component transport priority address port "typ" type ...
            addresses.add(line.split()[4])
    return addresses


def echo_on(channel: RTCDataChannel) -> None:
    @channel.on("message")
    def on_message(message: str | bytes) -> None:
        channel.send(f"echo:{message!s}")


def make_answer_app(
    ice_config: RTCConfiguration,
) -> tuple[web.Application, list[RTCPeerConnection]]:
    """Page at ``/`` and an aiortc answerer at ``/offer``; also returns its peers for cleanup."""
    peers: list[RTCPeerConnection] = []

    async def index(_request: web.Request) -> web.Response:
        return web.Response(text=PAGE_HTML, content_type="text/html")

    async def offer(request: web.Request) -> web.Response:
        body: dict[str, Any] = await request.json()
        pc = RTCPeerConnection(ice_config)
        peers.append(pc)
        pc.on("datachannel", echo_on)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type=body["type"]))
        # setLocalDescription returns once ICE gathering is complete.
        await pc.setLocalDescription(await pc.createAnswer())
        local = pc.localDescription
        return web.json_response({"sdp": local.sdp, "type": local.type})

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_post("/offer", offer)
    return app, peers


@pytest.mark.network
@pytest.mark.parametrize(
    ("family", "address"),
    [(socket.AF_INET, "1.1.1.1"), (socket.AF_INET6, "2606:4700:4700::1111")],
    ids=["ipv4", "ipv6"],
)
def test_namespace_has_no_route_out(family: int, address: str) -> None:
    # connect() on a UDP socket only looks up the route; no packet is sent.
    with socket.socket(family, socket.SOCK_DGRAM) as sock, pytest.raises(OSError) as excinfo:
        sock.connect((address, 53))
    assert excinfo.value.errno in {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL}


@pytest.mark.network
def test_aioice_gathers_only_the_veth_address(netns_addr: str) -> None:
    assert get_host_addresses(use_ipv4=True, use_ipv6=True) == [netns_addr]


@pytest.mark.network
async def test_aiortc_peers_exchange_data_channel_message(
    ice_config: RTCConfiguration, netns_addr: str
) -> None:
    offerer = RTCPeerConnection(ice_config)
    answerer = RTCPeerConnection(ice_config)
    answerer.on("datachannel", echo_on)
    channel = offerer.createDataChannel("infra")
    opened = asyncio.Event()
    reply: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    channel.on("open", opened.set)

    @channel.on("message")
    def on_reply(message: str) -> None:
        if not reply.done():
            reply.set_result(message)

    try:
        async with asyncio.timeout(TEST_TIMEOUT_S):
            await offerer.setLocalDescription(await offerer.createOffer())
            await answerer.setRemoteDescription(offerer.localDescription)
            await answerer.setLocalDescription(await answerer.createAnswer())
            await offerer.setRemoteDescription(answerer.localDescription)
            await opened.wait()
            channel.send("hello")
            assert await reply == "echo:hello"
        assert offerer.connectionState == "connected"
        assert answerer.connectionState == "connected"
        assert candidate_addresses(offerer.localDescription.sdp) == {netns_addr}
        assert candidate_addresses(answerer.localDescription.sdp) == {netns_addr}
    finally:
        await offerer.close()
        await answerer.close()


@pytest.mark.network
@pytest.mark.browser
async def test_chromium_loopback_peer_connection(
    page: Page, ice_config: RTCConfiguration, netns_addr: str
) -> None:
    app, _peers = make_answer_app(ice_config)
    async with asyncio.timeout(TEST_TIMEOUT_S), serve_app(app) as base_url:
        await page.goto(f"{base_url}/")
        result = await page.evaluate(JS_LOOPBACK)
    assert result["state"] == "connected"
    assert result["message"] == "ping"
    assert result["pair"] == {"local": netns_addr, "remote": netns_addr}
    # Raw addresses, never .local mDNS names (which would need multicast to resolve).
    assert result["candidates"]
    assert all(f" {netns_addr} " in candidate for candidate in result["candidates"])


@pytest.mark.network
@pytest.mark.browser
async def test_chromium_to_aiortc_data_channel_round_trip(
    page: Page, ice_config: RTCConfiguration, netns_addr: str
) -> None:
    app, peers = make_answer_app(ice_config)
    try:
        async with asyncio.timeout(TEST_TIMEOUT_S), serve_app(app) as base_url:
            await page.goto(f"{base_url}/")
            result = await page.evaluate(JS_TO_AIORTC, f"{base_url}/offer")
    finally:
        for pc in peers:
            await pc.close()
    assert result["state"] == "connected"
    assert result["message"] == "echo:ping"
    assert result["pair"] == {"local": netns_addr, "remote": netns_addr}
    assert len(peers) == 1


@pytest.mark.network
@pytest.mark.browser
async def test_chromium_reaches_namespace_address_but_resolves_no_names(
    page: Page, ice_config: RTCConfiguration, netns_addr: str
) -> None:
    # The resolver rules map every host, IP literals included, to "not found" except the ones
    # excluded: the namespace address must be among them for pages served on it.
    app, _peers = make_answer_app(ice_config)
    async with asyncio.timeout(TEST_TIMEOUT_S), serve_app(app, host=netns_addr) as base_url:
        await page.goto(f"{base_url}/")
        assert await page.inner_text("body") == "infra"
        with pytest.raises(PlaywrightError, match="ERR_NAME_NOT_RESOLVED"):
            await page.goto("http://example.com/", timeout=5_000)
