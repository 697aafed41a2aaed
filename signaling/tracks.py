"""A video track that sends a shared source's pre-encoded VP8 frames.

Two ways to send, chosen when aiortc starts the sender (DTLS is up by then):

* direct: the viewer joins the source's :class:`~signaling.broadcast.RtpBroadcast`,
  which packetizes each frame once and writes every viewer's packets itself;
  ``recv()`` then only waits for the track to end;
* through aiortc: ``recv()`` returns ``av.Packet``s and aiortc's sender only
  packetizes them (``Encoder.pack``), for paths the direct writer does not
  handle (TURN).

Either way one encoder upstream serves every viewer, and the sender's keyframe
requests (a viewer's PLI or FIR) are routed to it.
"""

from __future__ import annotations

import asyncio

import av
from aiortc import MediaStreamTrack, RTCRtpSender, RTCRtpTransceiver
from aiortc.mediastreams import MediaStreamError

from . import internals
from .broadcast import PacketSource, RtpBroadcast
from .rtpwriter import RtpWriter
from .source import PacketSubscription


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

    @property
    def writer(self) -> RtpWriter | None:
        return self._writer

    @property
    def mode(self) -> str:
        if self._writer is not None:
            return "direct"
        return "aiortc" if self._sub is not None else "idle"

    def bind(self, sender: RTCRtpSender, transceiver: RTCRtpTransceiver) -> None:
        """Route the sender's keyframe requests (PLI, FIR) to the shared encoder."""
        self._sender = sender
        self._transceiver = transceiver
        internals.route_keyframe_requests(sender, self.request_keyframe)

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if self._sub is None and self._writer is None:
            self._start()
        if self._writer is not None:
            await self._ended.wait()  # packets go out through the broadcast
            raise MediaStreamError
        assert self._sub is not None
        try:
            frame = await self._sub.get()
        except EOFError as exc:
            self.stop()
            raise MediaStreamError from exc
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
                internals.route_retransmissions(self._sender, writer.retransmit)
                self._broadcast.add(writer)
                return
        self._sub = self._source.subscribe()

    def request_keyframe(self) -> None:
        self.keyframe_requests += 1
        self._source.request_keyframe("viewer PLI/FIR")

    def stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
            self._sub = None
        if self._writer is not None and self._broadcast is not None:
            self._broadcast.remove(self._writer)
        self._ended.set()
        super().stop()
