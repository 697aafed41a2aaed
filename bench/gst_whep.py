"""The native GStreamer comparison peer: MJPEG camera -> one VP8 encoder -> WHEP viewers.

What an expert would assemble from Debian's GStreamer packages, for the benchmark to
measure the relay against::

    souphttpsrc ! jpegparse ! jpegdec ! videoconvert ! vp8enc ! tee
      tee. ! queue ! rtpvp8pay pt=<offered> ! webrtcbin     (one branch per viewer)

One encoder serves every viewer through the tee; each viewer has its own payloader,
because webrtcbin 1.22 does not rewrite payload types and peers offer different ones
for VP8 (Chromium 96, aiortc 97). A viewer's branch drops frames until its DTLS
handshake is done (packets sent earlier are dropped inside webrtcbin and leave a
sequence gap that stalls aiortc's jitter buffer), then asks the encoder for a keyframe
and passes frames from that keyframe on. No STUN server is configured: only host
candidates, so no packet leaves the machine.

Runs with Debian's Python, which has PyGObject (``gi``); HTTP is the standard library's::

    /usr/bin/python3 bench/gst_whep.py --camera http://127.0.0.1:S/stream \
        --host 127.0.0.1 --port P

Serves ``POST /whep`` (SDP offer in, ``201`` with ``Location`` and the answer out once
ICE gathering is complete), ``DELETE /whep/<id>``, and ``GET /healthz`` (JSON counters).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import re
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstVideo", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstVideo, GstWebRTC  # noqa: E402

log = logging.getLogger("gst-whep")

NEGOTIATION_TIMEOUT = 10.0  # seconds for set-description, answer and ICE gathering
TEARDOWN_TIMEOUT = 10.0

_VP8_RTPMAP = re.compile(r"^(\d+)\s+VP8/90000", re.IGNORECASE)


@dataclass(frozen=True)
class Options:
    camera: str
    host: str = "127.0.0.1"
    port: int = 8090
    bitrate: int = 2_000_000  # bit/s at the camera's size, like the relay's default
    cpu_used: int = 12
    threads: int = 1
    keyframe_max_dist: int = 250  # frames: a periodic keyframe every ~10 s at 25 fps
    keyframe_min_gap: float = 0.5  # seconds between requested keyframes
    viewer_timeout: float = 10.0  # seconds without RTCP before a viewer counts as gone
    # vp8enc with only what a user's pipeline sets (deadline=1 cpu-used=8 lag-in-frames=0
    # error-resilient=default end-usage=cbr target-bitrate), none of the relay's tuning.
    plain_encoder: bool = False


def offered_vp8(offer: GstSdp.SDPMessage) -> list[int] | None:
    """The VP8 payload types of the offer's first video section in offer order; None if
    it has no video section."""
    for index in range(offer.medias_len()):
        media = offer.get_media(index)
        if media.get_media() != "video" or media.get_port() == 0:
            continue
        pts = []
        for a in range(media.attributes_len()):
            attr = media.get_attribute(a)
            if attr.key == "rtpmap" and attr.value:
                m = _VP8_RTPMAP.match(attr.value)
                if m:
                    pts.append(int(m.group(1)))
        return pts
    return None


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Viewer:
    """One WHEP session: a branch hanging off the tee, ending in its own webrtcbin."""

    id: str
    payload_type: int
    queue: Gst.Element
    pay: Gst.Element
    webrtc: Gst.Element
    tee_pad: Gst.Pad | None = None
    gathered: threading.Event = field(default_factory=threading.Event)
    removed: threading.Event = field(default_factory=threading.Event)
    # HOLD until DTLS is up, then WAIT_KEY until the first keyframe passes; then the
    # probe is removed and frames flow untouched.
    gate: str = "HOLD"
    gate_probe: int = 0
    handlers: list[int] = field(default_factory=list)
    rtpbin: Gst.Element | None = None
    rtpbin_handlers: list[int] = field(default_factory=list)
    last_heard: float = field(default_factory=time.monotonic)  # connected, or last RTCP
    removing: bool = False

    @property
    def elements(self) -> tuple[Gst.Element, ...]:
        return (self.queue, self.pay, self.webrtc)


class GstWhepPeer:
    """The pipeline up to the tee, and the viewers' branches after it."""

    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.pipeline = Gst.Pipeline.new("gst-whep")
        self._lock = threading.Lock()
        self._viewers: dict[str, Viewer] = {}
        self.frames_encoded = 0
        self.bytes_encoded = 0
        self.keyframes = 0
        self.viewers_total = 0
        self.viewers_removed = 0
        self.error: str | None = None
        self._stopping = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="watchdog", daemon=True)
        self._build()

    # ---- the shared part

    def _build(self) -> None:
        o = self.opts
        src = make("souphttpsrc", "camera", location=o.camera, is_live=True, do_timestamp=True)
        # A stalled or restarted camera: reconnect rather than give up.
        src.set_property("retries", -1)
        parse = make("jpegparse", "parse")
        dec = make("jpegdec", "dec")
        conv = make("videoconvert", "conv")
        if o.plain_encoder:
            enc = make(
                "vp8enc", "enc", deadline=1, cpu_used=8, lag_in_frames=0, target_bitrate=o.bitrate
            )
        else:
            enc = self._tuned_encoder()
        Gst.util_set_object_arg(enc, "end-usage", "cbr")
        Gst.util_set_object_arg(enc, "error-resilient", "default")
        self._finish_build(src, parse, dec, conv, enc)

    def _tuned_encoder(self) -> Gst.Element:
        o = self.opts
        return make(
            "vp8enc",
            "enc",
            deadline=1,
            cpu_used=o.cpu_used,
            threads=o.threads,
            lag_in_frames=0,
            target_bitrate=o.bitrate,
            keyframe_max_dist=o.keyframe_max_dist,
            min_force_key_unit_interval=int(o.keyframe_min_gap * Gst.SECOND),
            # The relay's rate control: CBR with a short buffer keeps frames even.
            buffer_size=500,
            buffer_initial_size=300,
            buffer_optimal_size=400,
            undershoot=95,
            overshoot=15,
            min_quantizer=4,
            max_quantizer=56,
            max_intra_bitrate=300,
            static_threshold=0,
            noise_sensitivity=0,
        )

    def _finish_build(
        self, src: Gst.Element, parse: Gst.Element, dec: Gst.Element, conv: Gst.Element,
        enc: Gst.Element,
    ) -> None:  # fmt: skip
        self.tee = make("tee", "tee", allow_not_linked=True)
        for element in (src, parse, dec, conv, enc, self.tee):
            self.pipeline.add(element)
        link(src, parse, dec, conv, enc, self.tee)
        self.encoder = enc
        enc_src = enc.get_static_pad("src")
        assert enc_src is not None
        enc_src.add_probe(Gst.PadProbeType.BUFFER, self._count_encoded)

    def _count_encoded(self, _pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
        buf = info.get_buffer()
        if buf is not None:
            self.frames_encoded += 1
            self.bytes_encoded += buf.get_size()
            if not buf.has_flags(Gst.BufferFlags.DELTA_UNIT):
                self.keyframes += 1
        return Gst.PadProbeReturn.OK

    def start(self) -> None:
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message", self._on_bus_message)
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            raise RuntimeError("pipeline refused to start")
        self._watchdog.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._watchdog.is_alive():
            self._watchdog.join()
        self.remove_all()
        self.pipeline.set_state(Gst.State.NULL)

    def _on_bus_message(self, _bus: Gst.Bus, msg: Gst.Message) -> None:
        if msg.type == Gst.MessageType.ERROR:
            err, debug = msg.parse_error()
            src = msg.src.get_name() if msg.src else "?"
            self.error = f"{src}: {err.message}"
            log.error("%s (%s)", self.error, debug)
        elif msg.type == Gst.MessageType.WARNING:
            warn, _debug = msg.parse_warning()
            log.warning("%s: %s", msg.src.get_name() if msg.src else "?", warn.message)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            viewers = len(self._viewers)
        return {
            "viewers": viewers,
            "viewers_total": self.viewers_total,
            "viewers_removed": self.viewers_removed,
            "elements": len(self.pipeline.children),
            "tee_pads": len(self.tee.srcpads),
            "frames_encoded": self.frames_encoded,
            "bytes_encoded": self.bytes_encoded,
            "keyframes": self.keyframes,
            "error": self.error,
        }

    # ---- viewers

    def add_viewer(self, offer_text: str) -> tuple[str, str]:
        """Answer a WHEP offer; returns (viewer id, answer SDP) once ICE gathering is done."""
        res, offer = GstSdp.SDPMessage.new_from_text(offer_text)
        if res != GstSdp.SDPResult.OK:
            raise HttpError(400, "unparsable SDP offer")
        pts = offered_vp8(offer)
        if pts is None:
            raise HttpError(400, "the offer has no video section")
        if not pts:
            raise HttpError(406, "the offer does not accept VP8")
        pt = pts[0]
        vid = uuid.uuid4().hex
        viewer = Viewer(
            id=vid,
            payload_type=pt,
            queue=make(
                "queue",
                f"q-{vid}",
                leaky=2,  # downstream: a stalled viewer loses frames, never holds the tee
                max_size_buffers=25,
                max_size_bytes=0,
                max_size_time=0,
            ),
            pay=make("rtpvp8pay", f"pay-{vid}", pt=pt, mtu=1200),
            webrtc=make("webrtcbin", f"webrtc-{vid}", bundle_policy=3),  # max-bundle
        )
        viewer.webrtc.set_property("stun-server", None)
        Gst.util_set_object_arg(viewer.pay, "picture-id-mode", "15-bit")
        viewer.handlers = [
            viewer.webrtc.connect("notify::ice-gathering-state", self._on_gathering, viewer),
            viewer.webrtc.connect("notify::connection-state", self._on_connection, viewer),
        ]
        # webrtcbin 1.22 has no ICE consent check, does not surface a DTLS close, and its
        # rtpsession never times out a viewer that only sends receiver reports: a viewer that
        # goes away without DELETE would stay forever. Its RTCP tells instead: a BYE
        # (browsers send one), or silence (the watchdog, fed by every report that arrives).
        rtpbin = viewer.webrtc.get_by_name("rtpbin")
        if rtpbin is not None:
            viewer.rtpbin = rtpbin
            viewer.rtpbin_handlers = [
                rtpbin.connect("on-bye-ssrc", self._on_viewer_gone, viewer, "BYE"),
                rtpbin.connect("on-ssrc-active", self._on_viewer_rtcp, viewer),
            ]
        queue_sink = viewer.queue.get_static_pad("sink")
        assert queue_sink is not None
        viewer.gate_probe = queue_sink.add_probe(
            Gst.PadProbeType.BUFFER | Gst.PadProbeType.BUFFER_LIST, self._gate, viewer
        )

        with self._lock:
            for element in viewer.elements:
                self.pipeline.add(element)
            self._viewers[vid] = viewer
            self.viewers_total += 1
        try:
            self._negotiate(viewer, offer)
            with self._lock:
                tee_pad = self.tee.request_pad_simple("src_%u")
                assert tee_pad is not None
                viewer.tee_pad = tee_pad
                if tee_pad.link(queue_sink) != Gst.PadLinkReturn.OK:
                    raise RuntimeError("could not link the tee to a viewer")
            if not viewer.gathered.wait(NEGOTIATION_TIMEOUT):
                raise RuntimeError("ICE gathering did not complete")
            local = viewer.webrtc.get_property("local-description")
            answer = local.sdp.as_text()
        except BaseException:
            self.remove_viewer(vid)
            raise
        log.info("viewer %s joined (VP8 payload type %d)", vid, pt)
        return vid, answer

    def _negotiate(self, viewer: Viewer, offer: GstSdp.SDPMessage) -> None:
        webrtc = viewer.webrtc
        for element in viewer.elements:
            element.sync_state_with_parent()
        link(viewer.queue, viewer.pay)
        # webrtcbin 1.22 makes no transceiver when given an offer: request the sink pad (it
        # makes one) with the offered payload type first; the answer then pairs it with the
        # offer's video section. webrtcbin keeps the payload type it is fed.
        caps = Gst.Caps.from_string(
            "application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,"
            f"payload={viewer.payload_type},rtcp-fb-nack-pli=(boolean)true,"
            "rtcp-fb-ccm-fir=(boolean)true"
        )
        templ = webrtc.get_pad_template("sink_%u")
        assert templ is not None
        sink = webrtc.request_pad(templ, None, caps)
        if sink is None:
            raise RuntimeError("webrtcbin gave no sink pad")
        trans = sink.get_property("transceiver")
        trans.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
        trans.set_property("codec-preferences", caps)
        pay_src = viewer.pay.get_static_pad("src")
        assert pay_src is not None
        if pay_src.link(sink) != Gst.PadLinkReturn.OK:
            raise RuntimeError("could not link the payloader to webrtcbin")

        desc = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.OFFER, offer)
        promise = Gst.Promise.new()
        webrtc.emit("set-remote-description", desc, promise)
        wait_promise(promise, "set-remote-description")

        promise = Gst.Promise.new()
        webrtc.emit("create-answer", None, promise)
        reply = wait_promise(promise, "create-answer")
        answer = reply.get_value("answer") if reply is not None else None
        if answer is None:
            raise RuntimeError(f"create-answer gave no answer: {reply}")
        promise = Gst.Promise.new()
        webrtc.emit("set-local-description", answer, promise)
        wait_promise(promise, "set-local-description")

    def _on_gathering(self, webrtc: Gst.Element, _pspec: Any, viewer: Viewer) -> None:
        state = webrtc.get_property("ice-gathering-state")
        if state == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            viewer.gathered.set()

    def _on_connection(self, webrtc: Gst.Element, _pspec: Any, viewer: Viewer) -> None:
        state = webrtc.get_property("connection-state")
        log.info("viewer %s: %s", viewer.id, state.value_nick)
        if state == GstWebRTC.WebRTCPeerConnectionState.CONNECTED and viewer.gate == "HOLD":
            viewer.last_heard = time.monotonic()
            # DTLS is up: from the next keyframe on, frames reach this viewer.
            viewer.gate = "WAIT_KEY"
            self.request_keyframe(viewer)
        elif state in (
            GstWebRTC.WebRTCPeerConnectionState.FAILED,
            GstWebRTC.WebRTCPeerConnectionState.CLOSED,
        ):
            self._remove_soon(viewer, state.value_nick)

    def _on_viewer_gone(
        self, _rtpbin: Gst.Element, _session: int, ssrc: int, viewer: Viewer, why: str
    ) -> None:
        self._remove_soon(viewer, f"RTCP {why} from SSRC {ssrc}")

    def _on_viewer_rtcp(
        self, _rtpbin: Gst.Element, _session: int, _ssrc: int, viewer: Viewer
    ) -> None:
        viewer.last_heard = time.monotonic()

    def _watch(self) -> None:
        """Remove viewers that have sent no RTCP for ``viewer_timeout`` seconds."""
        while not self._stopping.wait(1.0):
            self._remove_silent()

    def _remove_silent(self) -> None:
        # A method of its own: a loop variable left in _watch would keep the last removed
        # viewer (and its webrtcbin, sockets and threads) alive.
        now, limit = time.monotonic(), self.opts.viewer_timeout
        with self._lock:
            silent = [v for v in self._viewers.values() if now - v.last_heard > limit]
        for viewer in silent:
            self._remove_soon(viewer, f"no RTCP for {limit:g} s")

    def _remove_soon(self, viewer: Viewer, why: str) -> None:
        # Called on webrtcbin's own threads, which its teardown joins: remove from another.
        if viewer.removing:
            return
        log.info("viewer %s is gone (%s)", viewer.id, why)
        threading.Thread(target=self.remove_viewer, args=(viewer.id,), daemon=True).start()

    def request_keyframe(self, viewer: Viewer) -> None:
        """Ask vp8enc for a keyframe from the viewer's branch: the tee forwards it upstream."""
        event = GstVideo.video_event_new_upstream_force_key_unit(Gst.CLOCK_TIME_NONE, True, 0)
        pad = viewer.queue.get_static_pad("sink")
        if pad is not None:
            pad.push_event(event)

    def _gate(self, _pad: Gst.Pad, info: Gst.PadProbeInfo, viewer: Viewer) -> Gst.PadProbeReturn:
        if viewer.gate == "HOLD":
            return Gst.PadProbeReturn.DROP
        buf = info.get_buffer()
        if buf is None or buf.has_flags(Gst.BufferFlags.DELTA_UNIT):
            return Gst.PadProbeReturn.DROP
        viewer.gate = "PASS"
        return Gst.PadProbeReturn.REMOVE

    def remove_viewer(self, vid: str) -> bool:
        """Unlink the viewer's branch from the tee and free it; False if unknown."""
        with self._lock:
            viewer = self._viewers.get(vid)
            if viewer is None:
                return False
            already, viewer.removing = viewer.removing, True
        if already:  # another thread is removing it (DELETE racing the watchdog)
            viewer.removed.wait(TEARDOWN_TIMEOUT)
            return True
        tee_pad = viewer.tee_pad
        if tee_pad is not None:
            detached = threading.Event()

            def unlink(pad: Gst.Pad, _info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
                # The tee is between buffers on this pad: unlinking cannot race a push.
                peer = pad.get_peer()
                if peer is not None:
                    pad.unlink(peer)
                detached.set()
                return Gst.PadProbeReturn.REMOVE

            tee_pad.add_probe(Gst.PadProbeType.IDLE, unlink)
            detached.wait(TEARDOWN_TIMEOUT)
            self.tee.release_request_pad(tee_pad)
        # The handlers and the probe hold the viewer, which holds webrtcbin: a reference cycle
        # through GObject that Python's collector frees late or never. Break it here, so the
        # ICE agent's sockets and threads go as soon as the viewer does.
        for handler in viewer.handlers:
            viewer.webrtc.disconnect(handler)
        viewer.handlers.clear()
        if viewer.rtpbin is not None:
            for handler in viewer.rtpbin_handlers:
                viewer.rtpbin.disconnect(handler)
            viewer.rtpbin_handlers.clear()
            viewer.rtpbin = None
        if viewer.gate != "PASS":
            queue_sink = viewer.queue.get_static_pad("sink")
            if queue_sink is not None:
                queue_sink.remove_probe(viewer.gate_probe)
        for element in viewer.elements:
            element.set_state(Gst.State.NULL)
        with self._lock:
            for element in viewer.elements:
                self.pipeline.remove(element)
            del self._viewers[vid]
            self.viewers_removed += 1
        viewer.removed.set()
        log.info("viewer %s left", vid)
        return True

    def remove_all(self) -> None:
        with self._lock:
            ids = list(self._viewers)
        for vid in ids:
            self.remove_viewer(vid)


def make(factory: str, name: str, **props: Any) -> Gst.Element:
    element = Gst.ElementFactory.make(factory, name)
    if element is None:
        raise RuntimeError(f"GStreamer element {factory!r} is missing")
    for key, value in props.items():
        element.set_property(key.replace("_", "-"), value)
    return element


def link(*elements: Gst.Element) -> None:
    for a, b in itertools.pairwise(elements):
        if not a.link(b):
            raise RuntimeError(f"could not link {a.get_name()} to {b.get_name()}")


def wait_promise(promise: Gst.Promise, what: str) -> Gst.Structure | None:
    if promise.wait() != Gst.PromiseResult.REPLIED:
        raise RuntimeError(f"{what}: no reply")
    reply = promise.get_reply()
    if reply is not None and reply.has_field("error"):
        raise RuntimeError(f"{what}: {reply.get_value('error')}")
    return reply


# --------------------------------------------------------------------------- HTTP


def make_handler(peer: GstWhepPeer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            log.debug("%s " + format, self.address_string(), *args)

        def _cors(self) -> None:
            # A benchmark page on another origin negotiates with this endpoint.
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Methods", "POST, DELETE, GET, OPTIONS")
            self.send_header("Access-Control-Allow-Headers", "Content-Type")
            self.send_header("Access-Control-Expose-Headers", "Location")

        def _send(
            self,
            status: int,
            body: bytes = b"",
            ctype: str = "text/plain",
            headers: dict[str, str] | None = None,
        ) -> None:
            self.send_response(status)
            self._cors()
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_OPTIONS(self) -> None:  # noqa: N802
            self._send(204)

        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/healthz":
                stats = peer.stats()
                status = 200 if stats["error"] is None else 503
                self._send(status, json.dumps(stats).encode(), "application/json")
            else:
                self._send(404, b"not found\n")

        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/whep":
                self._send(404, b"not found\n")
                return
            length = int(self.headers.get("Content-Length") or 0)
            offer = self.rfile.read(length).decode("utf-8", "replace")
            try:
                vid, answer = peer.add_viewer(offer)
            except HttpError as exc:
                self._send(exc.status, f"{exc}\n".encode())
                return
            except Exception as exc:  # noqa: BLE001 - reported to the client
                log.exception("negotiation failed")
                self._send(500, f"{exc}\n".encode())
                return
            self._send(201, answer.encode(), "application/sdp", {"Location": f"/whep/{vid}"})

        def do_DELETE(self) -> None:  # noqa: N802
            prefix = "/whep/"
            if self.path.startswith(prefix) and peer.remove_viewer(self.path[len(prefix) :]):
                self._send(200)
            else:
                self._send(404, b"no such session\n")

    return Handler


def parse_args(argv: list[str]) -> Options:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--camera", required=True, help="MJPEG stream URL, e.g. http://cam:81/stream")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8090)
    ap.add_argument("--bitrate", type=int, default=Options.bitrate, help="VP8 target bit/s")
    ap.add_argument("--cpu-used", type=int, default=Options.cpu_used)
    ap.add_argument("--threads", type=int, default=Options.threads)
    ap.add_argument("--keyframe-max-dist", type=int, default=Options.keyframe_max_dist)
    ap.add_argument("--keyframe-min-gap", type=float, default=Options.keyframe_min_gap)
    ap.add_argument(
        "--viewer-timeout",
        type=float,
        default=Options.viewer_timeout,
        help="seconds without RTCP from a viewer before its session is dropped",
    )
    ap.add_argument(
        "--plain-encoder",
        action="store_true",
        help="vp8enc deadline=1 cpu-used=8 lag-in-frames=0 error-resilient=default"
        " end-usage=cbr target-bitrate=BITRATE, nothing else",
    )
    ap.add_argument("--log-level", default="WARNING")
    a = ap.parse_args(argv)
    logging.basicConfig(level=a.log_level.upper(), format="%(name)s: %(levelname)s %(message)s")
    return Options(
        camera=a.camera,
        host=a.host,
        port=a.port,
        bitrate=a.bitrate,
        cpu_used=a.cpu_used,
        threads=a.threads,
        keyframe_max_dist=a.keyframe_max_dist,
        keyframe_min_gap=a.keyframe_min_gap,
        viewer_timeout=a.viewer_timeout,
        plain_encoder=a.plain_encoder,
    )


def main(argv: list[str]) -> int:
    opts = parse_args(argv)
    Gst.init(None)
    peer = GstWhepPeer(opts)
    loop = GLib.MainLoop()
    loop_thread = threading.Thread(target=loop.run, name="glib", daemon=True)
    loop_thread.start()
    peer.start()
    server = ThreadingHTTPServer((opts.host, opts.port), make_handler(peer))
    server.daemon_threads = True
    stop = threading.Event()

    def on_signal(_signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    serve = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    serve.start()
    print(f"gst-whep: listening on http://{opts.host}:{server.server_port}/whep", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        peer.stop()
        loop.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
