"""Load viewers: N aiortc WHEP sessions in one process that receive but do not decode.

Each viewer's jitter buffer still reassembles every VP8 frame (so a frame counts only
when all of its packets arrived), but the decoder is replaced by a counter, so the
relay under test gets the machine.  Prints one JSON object with per-viewer frame
counts when done.

    python bench/load_viewers.py --endpoint http://127.0.0.1:8080/whep --count 30 --duration 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from typing import Any

import aiohttp
import aiortc.rtcrtpreceiver as rtcrtpreceiver
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.codecs.base import Decoder
from aiortc.jitterbuffer import JitterFrame


class CountingDecoder(Decoder):
    """Counts complete frames instead of decoding them."""

    def __init__(self, counts: list[float]) -> None:
        self.counts = counts

    def decode(self, encoded_frame: JitterFrame) -> list[Any]:
        self.counts.append(time.monotonic())
        return []


async def run_viewer(
    session: aiohttp.ClientSession, endpoint: str, arrivals: list[float]
) -> tuple[RTCPeerConnection, str | None]:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    async with session.post(
        endpoint, data=pc.localDescription.sdp, headers={"Content-Type": "application/sdp"}
    ) as resp:
        answer = await resp.text()
        if resp.status != 201:
            raise RuntimeError(f"WHEP {resp.status}: {answer}")
        location = str(resp.url.join(aiohttp.client.URL(resp.headers["Location"])))
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return pc, location


async def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--duration", type=float, default=20.0, help="seconds of measuring")
    ap.add_argument("--warmup", type=float, default=3.0)
    args = ap.parse_args(argv)

    arrivals: list[list[float]] = [[] for _ in range(args.count)]
    # Each receiver gets its own counting decoder; they are created in order of connection.
    next_viewer = iter(range(args.count))
    rtcrtpreceiver.get_decoder = lambda codec: CountingDecoder(arrivals[next(next_viewer)])

    peers: list[tuple[RTCPeerConnection, str | None]] = []
    async with aiohttp.ClientSession() as session:
        try:
            for _ in range(args.count):
                peers.append(await run_viewer(session, args.endpoint, arrivals[len(peers)]))
            print(json.dumps({"event": "connected", "viewers": len(peers)}), flush=True)
            await asyncio.sleep(args.warmup)
            start = time.monotonic()
            await asyncio.sleep(args.duration)
            end = time.monotonic()
            fps = [sum(1 for t in a if start <= t < end) / (end - start) for a in arrivals]
            print(
                json.dumps(
                    {
                        "event": "result",
                        "viewers": len(peers),
                        "fps": [round(f, 2) for f in fps],
                        "min_fps": round(min(fps), 2) if fps else 0,
                    }
                ),
                flush=True,
            )
        finally:
            for pc, location in peers:
                if location:
                    with contextlib.suppress(Exception):
                        async with session.delete(location):
                            pass
                await pc.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
