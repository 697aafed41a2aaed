"""``GET /cameras/{name}/snapshot.jpg`` and ``GET /cameras/{name}/stream.mjpg``: the
camera's own JPEGs for clients that take no WebRTC (Home Assistant's MJPEG and generic
cameras, NVRs that poll a still, ``ffmpeg``), however many, over the board's one stream.

A slow MJPEG client waits on its own socket (aiohttp's write waits for the transport to
drain) and then gets the newest JPEG, skipping those it missed: it never grows a queue
and never holds the others back.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

from aiohttp import web

from signaling.whep import json_error

from ..jpegout.multipart import CONTENT_TYPE, RateCap, parse_fps, parse_max_age
from .lookup import camera_or_404

SNAPSHOT_MAX_AGE = 5.0  # seconds: an older JPEG is not "the camera now" (default ?max_age=)
SNAPSHOT_WAIT = 2.0  # seconds a snapshot waits for a first JPEG (a camera just connecting)
# What may wait for a slow MJPEG client in its socket and its transport: about a frame
# (SVGA is 40 KB). The kernel's own send buffer grows to megabytes, 100 frames of seconds-
# old picture; at 64 KB a client reading twice a second was 3.5 s behind, at this 2 s
# (most of it in the client's own buffers).
SEND_BUFFER = 16 * 1024


async def snapshot(request: web.Request) -> web.StreamResponse:
    cam = camera_or_404(request)
    try:
        max_age = parse_max_age(request.query.get("max_age"), SNAPSHOT_MAX_AGE)
    except ValueError as exc:
        return json_error(400, "invalid", str(exc))
    cam.want_snapshots()
    still = cam.stills.still
    if still is None or still.age() > max_age:
        # A camera that is connecting sends its first JPEG within a moment (and a
        # processed picture takes a frame to start).
        still = await cam.stills.newer(still.seq if still else 0, SNAPSHOT_WAIT) or still
    if still is None:
        return json_error(503, "no_frame", f"camera {cam.name!r} has sent no frame yet")
    age = still.age()
    if age > max_age:
        state = "online" if cam.connected else "offline"
        return json_error(
            503,
            "no_frame",
            f"camera {cam.name!r} is {state}; its newest frame is {age:.1f} s old, "
            f"over max_age {max_age:g} s",
        )
    return web.Response(
        body=still.data,
        content_type="image/jpeg",
        headers={"Cache-Control": "no-store", "X-Frame-Age": f"{age:.3f}"},
    )


async def stream(request: web.Request) -> web.StreamResponse:
    cam = camera_or_404(request)
    try:
        cap = RateCap(parse_fps(request.query.get("fps")))
    except ValueError as exc:
        return json_error(400, "invalid", str(exc))
    resp = web.StreamResponse(
        headers={
            "Content-Type": CONTENT_TYPE,
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # a reverse proxy in front must not buffer it
        }
    )
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        transport.set_write_buffer_limits(high=SEND_BUFFER)
    await resp.prepare(request)
    cam.jpeg_clients += 1
    try:
        seq = 0
        while True:
            # No timeout: a picture comes at least 4 times a second (the placeholder while
            # the camera is away), and the write after it notices a client gone.
            still = await cam.jpegs.newer(seq, None)
            if still is None:
                continue
            wait = cap.wait(time.monotonic())
            if wait:
                await asyncio.sleep(wait)
                still = cam.jpegs.still or still  # the newest, after the wait
            await resp.write(still.part)
            cap.sent(time.monotonic())
            seq = still.seq
    except ConnectionError:
        pass  # the client went away
    finally:
        cam.jpeg_clients -= 1
    return resp


def add_routes(app: web.Application) -> None:
    app.router.add_get("/cameras/{name}/snapshot.jpg", snapshot)
    # No HEAD: its answer would be a stream without end and without a body.
    app.router.add_get("/cameras/{name}/stream.mjpg", stream, allow_head=False)
