"""A video track that sends a shared source's pre-encoded VP8 frames.

Two ways to send, chosen when aiortc starts the sender (DTLS is up by then):

* direct: the viewer joins the source's :class:`~signaling.broadcast.RtpBroadcast`,
  which packetizes each frame once and writes every viewer's packets itself;
  ``recv()`` then only waits for the track to end;
* through aiortc: ``recv()`` returns ``av.Packet``s and aiortc's sender only
  packetizes them (``Encoder.pack``), for paths the direct writer does not
  handle (a pair whose protocol aioice sends through other than ``StunProtocol``), or
  with the direct path switched off (``PeerManager(direct_rtp=False)``). A TURN
  allocation is not such a path: aioice gives it a ``StunProtocol`` over the
  allocation's transport, and the writer sends through it.

Either way one encoder per layer upstream serves every viewer, and the sender's keyframe
requests (a viewer's PLI or FIR) are routed to the encoder of the layer this viewer gets.

The track holds the viewer's :class:`~signaling.adaptation.Adaptation`, fed from its
RTCP (receiver reports, REMB) and its NACKs, and the rung it chose. On the aiortc path
the viewer still moves down (REMB decreases) and between temporal layers, but is not
probed: aiortc's sender sends no padding. It moves up again only when it reconnects.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import av
from aiortc import MediaStreamTrack, RTCRtpSender, RTCRtpTransceiver
from aiortc.mediastreams import MediaStreamError

from . import internals
from .adaptation import Adaptation, wire_rate
from .broadcast import PacketSource, RtpBroadcast
from .rtpwriter import MIN_RESEND_GAP, PAD_AGE, RETRANSMIT_BUDGET, RtpWriter
from .source import PacketSubscription, RungInfo

DECIDE_EVERY = 0.1  # seconds between two decisions of one viewer's rung


class _OneRung:
    """The rung of a source that has no layers (or none measured yet)."""

    name = "full"
    layer = 0
    temporal = 0
    width = 0
    height = 0
    fps = 0.0
    bitrate = 0


class PacketTrack(MediaStreamTrack):
    """One viewer's video track over a shared source of encoded frames."""

    kind = "video"

    def __init__(
        self, source: PacketSource, broadcast: RtpBroadcast | None = None, *, udp_gso: bool = True
    ) -> None:
        super().__init__()
        self._udp_gso = udp_gso
        self._source = source
        self._broadcast = broadcast
        self._sub: PacketSubscription | None = None
        self._writer: RtpWriter | None = None
        self._sender: RTCRtpSender | None = None
        self._transceiver: RTCRtpTransceiver | None = None
        self._ended = asyncio.Event()
        self.keyframe_requests = 0
        self.playout_delay_id: int | None = None  # negotiated playout-delay extension
        self.adaptation = Adaptation(enabled=bool(getattr(source, "adaptive", True)))
        self.layer = 0  # the layer this viewer receives now
        self._rungs: Sequence[RungInfo] = ()
        self._needs: list[int] = []
        self._next_decision = 0.0

    @property
    def writer(self) -> RtpWriter | None:
        return self._writer

    @property
    def mode(self) -> str:
        if self._writer is not None:
            return "direct"
        return "aiortc" if self._sub is not None else "idle"

    # --- rungs and adaptation -------------------------------------------------------------

    def rungs(self) -> Sequence[RungInfo]:
        """The source's rungs (it measures them now and then for all its viewers)."""
        rungs = self._source.rungs() or (_OneRung(),)
        if rungs is not self._rungs:
            self._rungs = rungs
            self._needs = [wire_rate(r.bitrate, r.fps) for r in rungs]
        return rungs

    def needs(self) -> list[int]:
        self.rungs()
        return self._needs

    def rung(self) -> RungInfo:
        rungs = self._rungs or self.rungs()
        return rungs[min(self.adaptation.rung, len(rungs) - 1)]

    def decide(self, now: float) -> None:
        """Let the adaptation choose this viewer's rung, at most every ``DECIDE_EVERY``."""
        if now < self._next_decision:
            return
        self._next_decision = now + DECIDE_EVERY
        self.adaptation.update(now, self.needs())
        rtt = self.adaptation.rtt
        if self._writer is not None and rtt is not None:
            self._writer.budget = max(RETRANSMIT_BUDGET, 3 * rtt)
            self._writer.min_resend_gap = max(MIN_RESEND_GAP, rtt)
            self._writer.pad_age = max(PAD_AGE, 2 * rtt)

    def switched_to(self, layer: int, now: float) -> None:
        self.layer = layer
        self.adaptation.switched(now)

    def limit(self, name: str) -> str:
        """The best rung this viewer allows itself: ``auto`` (any) or a rung's name (that one
        or a cheaper one, "data saver"). Returns the rung now in force."""
        rungs = self.rungs()
        names = [r.name for r in rungs]
        if name == "auto":
            self.adaptation.ceiling = 0
        elif name in names:
            self.adaptation.ceiling = names.index(name)
        else:
            raise ValueError(f"no layer {name!r}: one of auto, {', '.join(names)}")
        self.adaptation.update(time.monotonic(), self.needs())
        return self.rung().name

    def quality(self) -> dict[str, Any]:
        """What this viewer gets, and what the relay knows of its link."""
        rungs = self.rungs()
        a = self.adaptation
        target = self.rung()
        current = next((r for r in rungs if r.layer == self.layer), target)
        if current.layer == target.layer:
            current = target
        writer = self._writer
        return {
            "layer": current.name,
            "width": current.width,
            "height": current.height,
            "fps": current.fps,
            "target": target.name,
            "limit": "auto" if a.ceiling == 0 else rungs[min(a.ceiling, len(rungs) - 1)].name,
            "layers": [r.name for r in rungs],
            "adaptive": a.enabled,
            "estimate": a.estimate,
            "remb": a.remb,
            "probing": a.probing,
            "probes": a.probes,
            "probes_failed": a.probes_failed,
            "probe_failure": a.probe_failure,
            "starting": a.starting,
            "loss": round(max(a.loss(), a.fraction_lost), 4),
            "rtt_ms": None if a.rtt is None else round(a.rtt * 1000, 1),
            "sent_bps": a.throughput(time.monotonic()),
            "retransmitted": None if writer is None else writer.retransmitted,
            "too_late": None if writer is None else writer.too_late,
        }

    # --- aiortc ---------------------------------------------------------------------------

    def bind(self, sender: RTCRtpSender, transceiver: RTCRtpTransceiver) -> None:
        """Route the sender's keyframe requests (PLI, FIR) to the shared encoder, and its
        RTCP feedback to this viewer's adaptation."""
        self._sender = sender
        self._transceiver = transceiver
        internals.route_keyframe_requests(sender, self.request_keyframe)
        internals.observe_rtcp(sender, self._on_report, self._on_remb)

    def _on_report(self, fraction_lost: float, rtt: float | None, rtx_lost: float | None) -> None:
        self.adaptation.on_report(fraction_lost, rtt, time.monotonic(), rtx_lost)

    def _on_remb(self, bitrate: int) -> None:
        self.adaptation.on_remb(bitrate, time.monotonic(), self.needs())

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if self._sub is None and self._writer is None:
            self._start()
        if self._writer is not None:
            await self._ended.wait()  # packets go out through the broadcast
            raise MediaStreamError
        assert self._sub is not None
        while True:
            try:
                frame = await self._sub.get()
            except EOFError as exc:
                self.stop()
                raise MediaStreamError from exc
            now = time.monotonic()
            self.decide(now)
            self._sub.switch(self.rung().layer)
            if self._sub.layer != self.layer:
                self.switched_to(self._sub.layer, now)
            if frame.temporal > self.rung().temporal and not frame.keyframe:
                continue  # aiortc numbers pictures itself: the receiver sees no gap
            return frame.packet

    def _start(self) -> None:
        if self._broadcast is not None and self._sender is not None and self._transceiver:
            writer = RtpWriter.create(
                self._sender,
                self._transceiver,
                use_gso=self._udp_gso,
                playout_delay_id=self.playout_delay_id,
            )
            if writer is not None:
                self._writer = writer
                # Only a viewer that can be probed starts below the top rung.
                self.adaptation.begin(time.monotonic(), self.needs())
                self.layer = self.rung().layer
                writer.on_lost = self._on_lost
                writer.on_hopeless = self._on_hopeless
                internals.route_retransmissions(self._sender, writer.retransmit)
                self._broadcast.add(writer, self)
                return
        self._sub = self._source.subscribe(self.layer)

    def _on_lost(self, packets: int) -> None:
        self.adaptation.on_lost(packets, time.monotonic())

    def _on_hopeless(self) -> None:
        self._source.request_keyframe("NACK past the latency budget", self.layer)

    def request_keyframe(self) -> None:
        self.keyframe_requests += 1
        self._source.request_keyframe("viewer PLI/FIR", self.layer)

    def stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
            self._sub = None
        if self._writer is not None and self._broadcast is not None:
            self._broadcast.remove(self._writer)
        self._ended.set()
        super().stop()
