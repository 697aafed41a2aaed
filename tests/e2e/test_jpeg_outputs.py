"""Snapshots and MJPEG for clients without WebRTC: the board's own JPEGs, to many clients
over its one stream connection, read strictly and by ffmpeg."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import socket
import time

import aiohttp
import numpy as np
import pytest
import simplejpeg

from relay.jpegout.multipart import BOUNDARY
from relay.testing.env import skip_or_fail
from relay.testing.relay import RunningRelay
from relay.video.framecode import read_code

pytestmark = pytest.mark.network


def _code(jpeg: bytes) -> tuple[int, int, int, int]:
    """(width, height, send_ms, counter) of a JPEG with the simulator's frame code."""
    gray = simplejpeg.decode_jpeg(jpeg, colorspace="GRAY")[:, :, 0]
    send_ms, counter = read_code(np.ascontiguousarray(gray))
    return gray.shape[1], gray.shape[0], send_ms, counter


async def _parts(resp: aiohttp.ClientResponse, n: int, pause: float = 0.0) -> list[bytes]:
    """Read ``n`` parts strictly: boundary line, headers with Content-Length, exactly that
    many bytes, CRLF; anything else fails the test."""
    assert resp.headers["Content-Type"] == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
    out = []
    for _ in range(n):
        line = await resp.content.readline()
        assert line == f"--{BOUNDARY}\r\n".encode(), line[:80]
        headers = {}
        while (line := await resp.content.readline()) != b"\r\n":
            key, _, value = line.decode("ascii").partition(":")
            headers[key.strip().lower()] = value.strip()
        assert headers["content-type"] == "image/jpeg"
        body = await resp.content.readexactly(int(headers["content-length"]))
        assert body[:2] == b"\xff\xd8" and body[-2:] == b"\xff\xd9"
        assert await resp.content.readexactly(2) == b"\r\n"
        out.append(body)
        if pause:
            await asyncio.sleep(pause)
    return out


async def _slow_client(base: str, path: str, parts: int, pause: float) -> list[bytes]:
    """A client on a small receive buffer (as a phone on a slow link) that takes a part
    every ``pause`` seconds. HTTP/1.0, as old MJPEG clients speak it: the parts come
    unchunked, until the connection closes."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    reader, writer = await asyncio.open_connection(sock=sock, limit=32 * 1024)
    try:
        writer.write(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        status = await reader.readline()
        assert status.startswith(b"HTTP/1.0 200"), status
        while await reader.readline() != b"\r\n":
            pass
        out = []
        for _ in range(parts):
            assert await reader.readline() == f"--{BOUNDARY}\r\n".encode()
            length = 0
            while (line := await reader.readline()) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            out.append(await reader.readexactly(length))
            assert await reader.readexactly(2) == b"\r\n"
            await asyncio.sleep(pause)
        return out
    finally:
        writer.close()


async def test_a_snapshot_is_the_cameras_newest_jpeg(relay: RunningRelay, http) -> None:
    base = relay.base + "/cameras/default/snapshot.jpg"
    async with http.get(base) as r:
        assert r.status == 200 and r.content_type == "image/jpeg"
        assert r.headers["Cache-Control"] == "no-store"
        first = _code(await r.read())
    await asyncio.sleep(0.3)
    async with http.get(base + "?max_age=1") as r:
        assert r.status == 200
        assert float(r.headers["X-Frame-Age"]) < 1
        second = _code(await r.read())
    assert first[:2] == second[:2] == (800, 600)
    assert second[3] > first[3] >= 0  # the simulator's counter moved on: live
    async with http.get(base + "?max_age=soon") as r:
        assert r.status == 400
        assert (await r.json())["error"] == "invalid"
    async with http.get(relay.base + "/cameras/nope/snapshot.jpg") as r:
        assert r.status == 404


async def test_a_stale_snapshot_is_refused_with_the_reason(relay: RunningRelay, http) -> None:
    cam = relay.camera()
    assert cam.simulator is not None
    async with http.get(relay.base + "/cameras/default/snapshot.jpg") as r:
        assert r.status == 200
    await cam.simulator.stop()
    await asyncio.sleep(0.6)
    async with http.get(relay.base + "/cameras/default/snapshot.jpg?max_age=0.5") as r:
        assert r.status == 503
        body = await r.json()
        assert body["error"] == "no_frame" and "over max_age 0.5 s" in body["message"], body


async def test_fifty_mjpeg_clients_and_a_slow_one_over_one_board_connection(
    relay: RunningRelay,
) -> None:
    cam = relay.camera()
    assert cam.simulator is not None
    url = relay.base + "/cameras/default/stream.mjpg"
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        responses = [await http.get(url) for _ in range(50)]
        try:
            assert all(r.status == 200 for r in responses)
            await _parts(responses[0], 3)  # all of them are flowing
            served = cam.simulator.stream_server.clients_served
            assert served >= 1
            started = time.monotonic()
            slow_task = asyncio.create_task(
                _slow_client(relay.base, "/cameras/default/stream.mjpg", 16, pause=0.4)
            )
            results = await asyncio.gather(*(_parts(r, 40) for r in responses))
            elapsed = time.monotonic() - started
            assert cam.jpeg_clients == 51  # the slow one still reading
            slow_parts = await slow_task
            async with http.get(relay.base + "/cameras/default/snapshot.jpg") as r:
                live = _code(await r.read())[3]
        finally:
            for r in responses:
                r.close()
    codes = [[_code(p)[3] for p in parts[::10]] for parts in results]
    # Every client got the camera's frames in order at its rate (25 fps: 40 in 1.6 s).
    assert all(c == sorted(c) and c[-1] > c[0] for c in codes), codes
    assert elapsed < 40 / 25 * 3, elapsed
    # The slow client skipped frames instead of queueing them: its 16 parts over 6.4 s
    # span far more than 16 of the camera's frames (read in order: 15), and what it got
    # last is behind the camera by the few parts its own buffers and the relay's small
    # socket buffer hold (about five reads, 50 frames), not by all it missed (144).
    slow_counters = [_code(p)[3] for p in slow_parts]
    assert slow_counters == sorted(slow_counters), slow_counters
    assert slow_counters[-1] - slow_counters[0] >= 2 * len(slow_counters), slow_counters
    assert live - slow_counters[-1] <= 75, (live, slow_counters)
    # One stream connection to the board, whatever the number of clients.
    assert cam.simulator.stream_server.clients_served == served
    for _ in range(50):
        if cam.jpeg_clients == 0:
            break
        await asyncio.sleep(0.1)
    assert cam.jpeg_clients == 0


async def test_fps_caps_a_clients_rate(relay: RunningRelay, http) -> None:
    async with http.get(relay.base + "/cameras/default/stream.mjpg?fps=4") as r:
        await _parts(r, 1)
        started = time.monotonic()
        parts = await _parts(r, 8)
        rate = 8 / (time.monotonic() - started)
    assert 3.0 <= rate <= 4.6, rate
    counters = [_code(p)[3] for p in parts]
    assert all(b > a for a, b in itertools.pairwise(counters)), counters
    async with http.get(relay.base + "/cameras/default/stream.mjpg?fps=0") as r:
        assert r.status == 400 and "fps must" in (await r.json())["message"]


@pytest.mark.parametrize("path", ["stream.mjpg", "snapshot.jpg"])
async def test_ffmpeg_reads_and_decodes_it(relay: RunningRelay, path: str) -> None:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        skip_or_fail("ffmpeg is not installed (Debian: apt-get install ffmpeg)")
    frames = "25" if path == "stream.mjpg" else "1"
    proc = await asyncio.create_subprocess_exec(
        ffmpeg, "-nostdin", "-v", "error", "-i", f"{relay.base}/cameras/default/{path}",
        "-frames:v", frames, "-f", "framemd5", "-",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0 and not err.strip(), err.decode()
    lines = [x for x in out.decode().splitlines() if x and not x.startswith("#")]
    assert len(lines) == int(frames), out.decode()


def _chroma(jpeg: bytes) -> float:
    """Mean spread between the colour channels: 0 for a grey picture."""
    rgb = simplejpeg.decode_jpeg(jpeg).astype(np.int16)
    return float(np.abs(rgb[:, :, 0] - rgb[:, :, 2]).mean())


async def test_a_processor_that_changes_the_picture_is_what_jpeg_clients_get(
    relay: RunningRelay, http
) -> None:
    url = relay.base + "/cameras/default/stream.mjpg"
    async with http.get(url) as r:
        raw = await _parts(r, 3)
    assert all(_chroma(p) > 5 for p in raw)  # the simulator's scene is in colour
    async with http.put(
        relay.base + "/api/cameras/default/processors", json=[{"name": "grayscale"}]
    ) as r:
        assert r.status == 200, await r.text()
    async with http.get(url) as r:
        await _parts(r, 5)  # what was published before the chain took over
        grey = await _parts(r, 10)
    assert all(_chroma(p) < 2 for p in grey), [_chroma(p) for p in grey]
    counters = [_code(p)[3] for p in grey]
    assert counters == sorted(counters) and counters[-1] > counters[0] >= 0
    async with http.get(relay.base + "/cameras/default/snapshot.jpg") as r:
        assert r.status == 200
        snap = await r.read()
    assert _chroma(snap) < 2 and _code(snap)[:2] == (800, 600)


async def test_an_mjpeg_client_sees_the_placeholder_while_the_camera_is_away(
    relay: RunningRelay,
) -> None:
    from relay.video.placeholder import is_placeholder

    cam = relay.camera()
    assert cam.simulator is not None
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        async with http.get(relay.base + "/cameras/default/stream.mjpg") as r:
            live = await _parts(r, 3)
            assert not any(is_placeholder(_code(p)[2:]) for p in live)
            await cam.simulator.stop()
            away = []
            for _ in range(40):  # bounded: about 10 s of placeholders at 4 fps
                (p,) = await _parts(r, 1)
                if is_placeholder(_code(p)[2:]):
                    away.append(p)
                    if len(away) == 3:
                        break
            assert len(away) == 3
            assert {_code(p)[:2] for p in away} == {(800, 600)}
        # Snapshots never show the placeholder: they say the camera is offline.
        await asyncio.sleep(1.0)  # the last live frame is over a second old
        async with http.get(relay.base + "/cameras/default/snapshot.jpg?max_age=1") as r:
            assert r.status == 503
            assert "offline" in (await r.json())["message"]
