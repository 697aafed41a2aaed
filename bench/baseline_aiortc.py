"""BASELINE, not the product: the relay a user would write from aiortc's examples.

It is what aiortc's ``examples/webcam/webcam.py`` gives when pointed at an
ESP32-CAM: one ``MediaPlayer`` opened on the board's MJPEG URL
(``format="mpjpeg"``, FFmpeg's multipart JPEG demuxer over HTTP), created when
the first viewer arrives and shared through ``MediaRelay``; each viewer gets
``relay.subscribe(player.video)``, so aiortc's ``RTCRtpSender`` encodes VP8
once per viewer. The benchmark compares the product against it.

Two departures from the example, both needed to measure it and neither a fix:
signalling is WHEP (``POST /whep`` with the SDP offer, answer after ICE
gathering, ``DELETE`` on the returned ``Location``; CORS open so the
benchmark's page on another port can reach it) instead of the example's JSON
``/offer``; and ``RTCConfiguration(iceServers=[])``, because aiortc's default
would contact a public STUN server.

Its flaws are kept on purpose, since they are what the benchmark measures:

- ``MediaPlayer`` treats the stream as a file: frames get timestamps from the
  demuxer's assumed frame rate and are played out at those timestamps, so
  whatever queued up while the first viewer connected is shown late;
- ``MediaRelay``'s default buffered mode gives each viewer an unbounded queue;
- every viewer's sender decodes nothing but re-encodes the same shared
  ``VideoFrame`` in the default thread pool, concurrently with the others;
- the camera is opened with a blocking call on the event loop.

    tests/netns-run .venv/bin/python bench/baseline_aiortc.py \\
        --camera http://127.0.0.1:81/stream --host 127.0.0.1 --port 8090
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import uuid
from dataclasses import dataclass, field

from aiohttp import web
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaPlayer, MediaRelay

log = logging.getLogger("baseline_aiortc")

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Expose-Headers": "Location",
}


@dataclass
class Baseline:
    """The example's globals (``relay``, ``webcam``, ``pcs``) gathered in one object."""

    camera_url: str
    player: MediaPlayer | None = None
    relay: MediaRelay | None = None
    pcs: dict[str, RTCPeerConnection] = field(default_factory=dict)

    def video_track(self) -> MediaStreamTrack:
        # As in the example's create_local_tracks(): open the camera on first use
        # (a blocking call on the event loop), then one relayed track per viewer.
        if self.relay is None or self.player is None:
            self.player = MediaPlayer(self.camera_url, format="mpjpeg")
            self.relay = MediaRelay()
        video = self.player.video
        if video is None:
            raise RuntimeError(f"no video stream at {self.camera_url}")
        return self.relay.subscribe(video)


BASELINE = web.AppKey("baseline", Baseline)


async def options(request: web.Request) -> web.Response:
    return web.Response(status=204, headers=CORS_HEADERS)


async def whep_post(request: web.Request) -> web.Response:
    state = request.app[BASELINE]
    offer = RTCSessionDescription(sdp=await request.text(), type="offer")
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    session = uuid.uuid4().hex
    state.pcs[session] = pc

    @pc.on("connectionstatechange")
    async def on_connectionstatechange() -> None:
        log.info("%s: connection state is %s", session[:8], pc.connectionState)
        if pc.connectionState == "failed":
            await pc.close()
            state.pcs.pop(session, None)

    try:
        pc.addTrack(state.video_track())
        await pc.setRemoteDescription(offer)
        # aiortc gathers every candidate inside setLocalDescription: the answer is complete.
        await pc.setLocalDescription(await pc.createAnswer())
    except Exception as exc:
        log.exception("offer failed")
        await pc.close()
        state.pcs.pop(session, None)
        return web.Response(status=500, text=f"{exc}\n", headers=CORS_HEADERS)
    return web.Response(
        status=201,
        content_type="application/sdp",
        text=pc.localDescription.sdp,
        headers={**CORS_HEADERS, "Location": f"/whep/{session}"},
    )


async def whep_delete(request: web.Request) -> web.Response:
    pc = request.app[BASELINE].pcs.pop(request.match_info["session"], None)
    if pc is None:
        return web.Response(status=404, headers=CORS_HEADERS)
    await pc.close()
    return web.Response(status=200, headers=CORS_HEADERS)


async def on_shutdown(app: web.Application) -> None:
    pcs = app[BASELINE].pcs
    await asyncio.gather(*(pc.close() for pc in pcs.values()))
    pcs.clear()


def create_app(camera_url: str) -> web.Application:
    app = web.Application()
    app[BASELINE] = Baseline(camera_url)
    app.on_shutdown.append(on_shutdown)
    app.router.add_post("/whep", whep_post)
    app.router.add_route("OPTIONS", "/whep", options)
    app.router.add_delete("/whep/{session}", whep_delete)
    app.router.add_route("OPTIONS", "/whep/{session}", options)
    return app


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        description="Baseline: the aiortc-examples relay (not the product)."
    )
    ap.add_argument("--camera", required=True, help="the board's MJPEG URL (http://IP:81/stream)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8090)
    ap.add_argument("--log-level", default="WARNING")
    args = ap.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper())
    web.run_app(create_app(args.camera), host=args.host, port=args.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
