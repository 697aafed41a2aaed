"""The GStreamer comparison peer (bench/gst_whep.py) against the simulated camera.

The peer runs under Debian's own Python with GStreamer from Debian's packages
(bench/install-gstreamer, which `make test` runs). Where GStreamer is missing these tests skip
with the reason, and fail under CI=true like every other test with a missing system dependency.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Page

from relay.routes.assets import web_root
from relay.simulator import SimulatedCamera, SimulatorOptions
from relay.testing.browser import serve_app
from relay.testing.env import skip_or_fail
from relay.testing.whep import WhepViewer

pytestmark = pytest.mark.network

ROOT = Path(__file__).resolve().parents[2]
PEER = ROOT / "bench" / "gst_whep.py"
GST_PYTHON = "/usr/bin/python3"
ELEMENTS = ("souphttpsrc", "jpegparse", "jpegdec", "vp8enc", "rtpvp8pay", "webrtcbin", "nicesrc")
PROBE = f"""
import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import Gst, GstSdp, GstWebRTC
Gst.init(None)
missing = [e for e in {ELEMENTS!r} if Gst.ElementFactory.find(e) is None]
if missing:
    raise SystemExit("missing GStreamer elements: " + " ".join(missing))
"""
BRANCH_ELEMENTS = 3  # queue, rtpvp8pay, webrtcbin per viewer
LISTENING = re.compile(r"gst-whep: listening on (http://\S+/whep)")


def gst_missing_reason() -> str | None:
    if not os.access(GST_PYTHON, os.X_OK):
        return f"{GST_PYTHON} not found"
    try:
        probe = subprocess.run(
            [GST_PYTHON, "-c", PROBE], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{GST_PYTHON} could not check GStreamer: {exc}"
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        return f"GStreamer peer unavailable ({last}); run bench/install-gstreamer as root"
    return None


@pytest.fixture(scope="module")
def gst_available() -> None:
    reason = gst_missing_reason()
    if reason is not None:
        skip_or_fail(reason)


@dataclass
class GstPeer:
    whep: str  # http://127.0.0.1:PORT/whep
    proc: asyncio.subprocess.Process

    @property
    def base(self) -> str:
        return self.whep.removesuffix("/whep")

    async def health(self, http: aiohttp.ClientSession) -> dict[str, Any]:
        async with http.get(f"{self.base}/healthz") as resp:
            assert resp.status == 200, await resp.text()
            result: dict[str, Any] = await resp.json()
            return result

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def threads(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
        raise AssertionError("no Threads line")


@contextlib.asynccontextmanager
async def running_peer(extra: Sequence[str] = ()) -> AsyncIterator[GstPeer]:
    """The simulated camera at 800x600, 25 fps, and the peer reading its stream."""
    opts = SimulatorOptions(control_port=0, stream_port=0, capture_led_delay=0.0)
    async with SimulatedCamera(opts) as cam:
        proc = await asyncio.create_subprocess_exec(
            GST_PYTHON,
            str(PEER),
            "--camera",
            cam.stream_url,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            *extra,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
            match = LISTENING.search(line)
            assert match, f"peer did not start: {line!r} (exit {proc.returncode})"
            yield GstPeer(match.group(1), proc)
        finally:
            if proc.returncode is None:
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 15)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


@pytest.fixture
async def peer(gst_available: None) -> AsyncIterator[GstPeer]:
    async with running_peer() as p:
        yield p


async def _viewer(peer: GstPeer, http: aiohttp.ClientSession) -> WhepViewer:
    v = WhepViewer(peer.whep)
    await v.connect(http)
    return v


async def _poll(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def _assert_live(frames: list[Any], at_least: int) -> None:
    assert {(f.width, f.height) for f in frames} == {(800, 600)}
    counters = [f.counter for f in frames]
    assert counters == sorted(counters), counters
    assert counters[-1] - counters[0] >= at_least, counters


async def test_two_viewers_share_one_encoder(peer: GstPeer, http) -> None:
    v1, v2 = await _viewer(peer, http), await _viewer(peer, http)
    try:
        got = await asyncio.gather(*(v.wait_frames(25, timeout=20) for v in (v1, v2)))
        for frames in got:
            _assert_live(frames, at_least=20)
        # Both arrived soon after the simulator sent them.
        lag_ms = [(f.arrived * 1000) % 2**32 - f.send_ms for f in got[0][5:]]
        assert max(lag_ms) < 500, lag_ms
        h0, t0 = await peer.health(http), time.monotonic()
        assert (h0["viewers"], h0["tee_pads"]) == (2, 2)
        await asyncio.sleep(2)
        h1, t1 = await peer.health(http), time.monotonic()
        # One encode per camera frame (25 fps), not one per viewer.
        rate = (h1["frames_encoded"] - h0["frames_encoded"]) / (t1 - t0)
        assert 15 <= rate <= 30, rate

        # One leaves: its branch goes, the other keeps playing.
        location = v1.location
        await v1.close(http)
        h2 = await peer.health(http)
        assert (h2["viewers"], h2["tee_pads"], h2["viewers_removed"]) == (1, 1, 1)
        assert h2["elements"] == h1["elements"] - BRANCH_ELEMENTS
        _assert_live(await v2.wait_frames(15, timeout=10), at_least=10)
        async with http.delete(location) as resp:
            assert resp.status == 404
    finally:
        await asyncio.gather(v1.close(http), v2.close(http))
    h3 = await peer.health(http)
    assert (h3["viewers"], h3["tee_pads"]) == (0, 0)


async def test_pli_reaches_the_shared_encoder(peer: GstPeer, http) -> None:
    v = await _viewer(peer, http)
    try:
        await v.wait_frames(10, timeout=20)
        await asyncio.sleep(1)  # past the encoder's minimum gap between requested keyframes
        before = (await peer.health(http))["keyframes"]

        async def keyframe_sent() -> bool:
            return (await peer.health(http))["keyframes"] > before

        await v.send_pli()
        # webrtcbin turns the PLI into a force-key-unit event that the tee passes upstream.
        await _poll(keyframe_sent, 3, "a keyframe after the PLI")
        _assert_live(await v.wait_frames(10, timeout=10), at_least=5)
    finally:
        await v.close(http)


async def test_viewers_joining_and_leaving_leave_nothing_behind(peer: GstPeer, http) -> None:
    async def cycle() -> None:
        v = await _viewer(peer, http)
        try:
            await v.wait_frames(3, timeout=20)
        finally:
            await v.close(http)

    await cycle()  # first use loads libraries and starts thread pools
    base = await peer.health(http)
    fds, threads = peer.fds(), peer.threads()
    for _ in range(6):
        await cycle()
    after = await peer.health(http)
    assert (after["viewers"], after["tee_pads"]) == (0, 0)
    assert after["elements"] == base["elements"]
    assert after["viewers_removed"] == base["viewers_removed"] + 6
    # Each viewer holds about 20 descriptors (ICE sockets, DTLS, wakeups) and several threads;
    # six leaked viewers would show far above this slack.
    assert peer.fds() <= fds + 3, (fds, peer.fds())
    assert peer.threads() <= threads + 4, (threads, peer.threads())


async def test_a_viewer_that_vanishes_is_dropped(gst_available: None, http) -> None:
    async with running_peer(["--viewer-timeout", "3"]) as peer:
        v = await _viewer(peer, http)
        await v.wait_frames(40, timeout=20)  # receiver reports flow, then stop
        location = v.location
        await v.close()  # no DELETE: the peer must notice the silence

        async def gone() -> bool:
            return (await peer.health(http))["viewers"] == 0

        await _poll(gone, 10, "the silent viewer's removal")
        assert (await peer.health(http))["tee_pads"] == 0
        async with http.delete(location) as resp:
            assert resp.status == 404


# A WHEP player page for Chromium: the reader is the relay's own (web/static/framecode.js),
# inlined without its exports because this page is served from elsewhere.
_READ_CODE_JS = (web_root() / "static" / "framecode.js").read_text().replace("export ", "")
PAGE = """<!doctype html>
<video id="video" autoplay muted playsinline></video>
<script>
READ_CODE
async function play(endpoint) {
  const pc = new RTCPeerConnection({ iceServers: [] });
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.ontrack = (e) => { document.getElementById("video").srcObject = new MediaStream([e.track]); };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((done) => {
    if (pc.iceGatheringState === "complete") return done();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && done();
  });
  const offer = pc.localDescription.sdp;
  const resp = await fetch(endpoint, {
    method: "POST", headers: { "Content-Type": "application/sdp" }, body: offer,
  });
  if (resp.status !== 201) throw new Error(`WHEP ${resp.status}: ${await resp.text()}`);
  const answer = await resp.text();
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  window.pc = pc;
  const vp8 = (sdp) => Number(/a=rtpmap:(\\d+) VP8\\/90000/.exec(sdp)[1]);
  return { offered: vp8(offer), answered: vp8(answer) };
}
function counter() {
  const v = document.getElementById("video");
  const c = document.createElement("canvas");
  c.width = v.videoWidth; c.height = v.videoHeight;
  const ctx = c.getContext("2d");
  ctx.drawImage(v, 0, 0);
  return readCode(ctx, c.width, c.height)[1];
}
</script>
""".replace("READ_CODE", _READ_CODE_JS)


@pytest.mark.browser
async def test_chromium_plays_the_peer(peer: GstPeer, page: Page, http) -> None:
    app = web.Application()

    async def index(_request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    app.router.add_get("/", index)
    async with serve_app(app) as base:  # an http origin: Chromium gathers no ICE otherwise
        await page.goto(base + "/")
        pts = await page.evaluate("(endpoint) => play(endpoint)", peer.whep)
        # The answer keeps Chromium's own VP8 payload type: webrtcbin does not rewrite it.
        assert pts["answered"] == pts["offered"], pts
        await page.wait_for_function(
            "() => { const v = document.getElementById('video');"
            " return v.videoWidth > 0 && v.currentTime > 0; }",
            timeout=15000,
        )
        size = await page.eval_on_selector("#video", "v => [v.videoWidth, v.videoHeight]")
        assert size == [800, 600]
        quality = "v => v.getVideoPlaybackQuality().totalVideoFrames"
        frames0 = await page.eval_on_selector("#video", quality)
        counter0 = await page.evaluate("counter()")
        await page.wait_for_timeout(3000)
        frames1 = await page.eval_on_selector("#video", quality)
        counter1 = await page.evaluate("counter()")
        # About 75 frames in 3 s at 25 fps, and the picture's own counter moved as much.
        assert frames1 - frames0 >= 50, (frames0, frames1)
        assert 50 <= (counter1 - counter0) % 65536 <= 100, (counter0, counter1)
        assert (await peer.health(http))["viewers"] == 1
