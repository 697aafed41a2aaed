"""WHEP offers, mutated from real Chromium and aiortc offers: every one is answered with a
201 or a JSON error, never a 500; accepted sessions are released; the watching viewer
keeps playing and nothing leaks."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.budget import FUZZ
from tests.fuzz.threaded import ThreadedRelay, open_fds

pytestmark = [
    pytest.mark.network,
    # The relay runs beside the test in its own thread and uses the random module (ICE,
    # backoff jitter); Hypothesis takes that for the strategy's own use and warns.
    pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies"),
]

# Read as bytes: SDP lines end in CRLF, which text mode would fold into LF.
CHROMIUM_OFFER = (Path(__file__).parent / "offers" / "chromium.sdp").read_bytes().decode()
ANSWERED = {201, 400, 413, 415, 503}


async def _aiortc_offer() -> str:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # never a public STUN server
    pc.addTransceiver("video", direction="recvonly")
    pc.createDataChannel("control")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


TOKENS = st.sampled_from(
    [
        "0",
        "-1",
        "65536",
        "99999999999999999999",
        "VP8/90000",
        "H264/90000",
        "opus/48000/2",
        "sendrecv",
        "recvonly",
        "inactive",
        "actpass",
        "UDP/TLS/RTP/SAVPF",
        "RTP/AVP",
        "IN IP4 0.0.0.0",
        "IN IP6 ::1",
        "sha-256 00:11",
        "\x00",
        "é",
        " ",
        "",
        "a=",
        "m=",
        "x" * 300,
    ]
)


@st.composite
def mutated_offer(draw: st.DrawFn, bases: list[str]) -> str:
    lines = draw(st.sampled_from(bases)).split("\r\n")
    for _ in range(draw(st.integers(1, 6))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "token", "insert", "cut"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "token":
            words = lines[i].split(" ")
            k = draw(st.integers(0, len(words) - 1))
            words[k] = draw(st.one_of(TOKENS, st.text(max_size=20)))
            lines[i] = " ".join(words)
        elif op == "insert":
            lines.insert(i, draw(st.one_of(TOKENS, st.text(max_size=80))))
        else:
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
    return "\r\n".join(lines)


@pytest.fixture(scope="module")
def offers(live: ThreadedRelay) -> list[str]:
    return [CHROMIUM_OFFER, live.run(_aiortc_offer())]


def test_mutated_offers_are_answered_and_leave_nothing_behind(
    live: ThreadedRelay, offers: list[str]
) -> None:
    tasks0, fds0 = live.tasks(), open_fds()
    seen: dict[int, int] = {}

    @FUZZ
    @given(mutated_offer(offers))
    def post(sdp: str) -> None:
        async def exchange() -> int:
            async with live.http.post(
                live.relay.whep(),
                data=sdp.encode("utf-8", "surrogatepass"),
                headers={"Content-Type": "application/sdp"},
            ) as r:
                body = await r.text()
                if r.status == 201:
                    async with live.http.delete(live.relay.base + r.headers["Location"]) as d:
                        # 404: the relay ended the session already (its ICE or DTLS
                        # parameters were unusable, so the connection failed at once).
                        assert d.status in (200, 404), d.status
                else:
                    assert r.content_type == "application/json", (r.status, body[:200])
                    assert json.loads(body)["error"], body
                return r.status

        status = live.run(exchange())
        assert status in ANSWERED, status
        seen[status] = seen.get(status, 0) + 1

    post()
    print(f"WHEP offers by answer: {dict(sorted(seen.items()))}")
    assert live.run(live.still_playing()) >= 10
    # Every accepted session was deleted: only the two watching viewers remain.
    live.run(asyncio.sleep(0.5))
    assert len(live.relay.peers.sessions) == 2
    assert live.tasks() <= tasks0 + 5, (tasks0, live.tasks())
    assert open_fds() <= fds0 + 10, (fds0, open_fds())
