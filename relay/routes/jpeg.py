"""``GET /cameras/{name}/snapshot.jpg`` and ``GET /cameras/{name}/stream.mjpg``: the
camera's own JPEGs for clients that take no WebRTC (Home Assistant's MJPEG and generic
cameras, NVRs that poll a still, ``ffmpeg``), however many, over the board's one stream.

A slow MJPEG client skips the JPEGs published while its socket was still full and gets
the newest when it has room (:mod:`relay.jpegout.clients`): it never grows a queue and
never holds the others back.
"""

from __future__ import annotations

import contextlib
import socket
import time

from aiohttp import hdrs, web

from signaling.whep import json_error

from ..jpegout.multipart import CONTENT_TYPE, RateCap, parse_fps, parse_max_age
from .lookup import camera_or_404

SNAPSHOT_MAX_AGE = 5.0  # seconds: an older JPEG is not "the camera now" (default ?max_age=)
SNAPSHOT_WAIT = 2.0  # seconds a snapshot waits for a first JPEG (a camera just connecting)
# An MJPEG client's socket send buffer. The kernel's own grows to megabytes, 100 frames of
# seconds-old picture; with this and relay.cameras.MJPEG_BACKLOG a slow client stays
# about a frame behind.
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
        try:
            still = await cam.stills.newer(still.seq if still else 0, SNAPSHOT_WAIT) or still
        except ConnectionResetError:  # the camera was removed while this waited
            return json_error(404, "not_found", f"camera {cam.name!r} was removed")
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
    if transport is None or transport.is_closing():
        return resp
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
    resp.force_close()  # an HTTP/1.0 client's answer ends only when the connection does
    await resp.prepare(request)
    # From here the camera writes each JPEG into this transport itself (jpegout.clients),
    # framed as aiohttp framed the head: chunks for HTTP/1.1, plain bytes for 1.0.
    chunked = resp.headers.get(hdrs.TRANSFER_ENCODING, "").lower() == "chunked"
    client = cam.mjpeg.add(transport, chunked, cap)
    try:
        if cam.jpegs.still is not None:
            cam.mjpeg.deliver_to(client, cam.jpegs.still, time.monotonic())
        await client.done
    finally:
        cam.mjpeg.remove(client)
    return resp


def add_routes(app: web.Application) -> None:
    app.router.add_get("/cameras/{name}/snapshot.jpg", snapshot)
    # No HEAD: its answer would be a stream without end and without a body.
    app.router.add_get("/cameras/{name}/stream.mjpg", stream, allow_head=False)
