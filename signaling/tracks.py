"""A video track that hands pre-encoded VP8 packets to aiortc's sender.

When ``recv()`` returns an ``av.Packet`` instead of a frame, aiortc's
``RTCRtpSender`` only packetizes it (``Encoder.pack``): the one shared encoder
upstream serves every viewer.  In that mode the sender's own keyframe request
(set on a viewer's PLI or FIR) would reach nobody, so :func:`attach` routes it to
the source instead.
"""

from __future__ import annotations

from typing import Protocol

import av
from aiortc import MediaStreamTrack, RTCRtpSender
from aiortc.mediastreams import MediaStreamError


class EncodedVideo(Protocol):
    """One encoded frame as the source delivers it."""

    @property
    def packet(self) -> av.Packet: ...

    @property
    def keyframe(self) -> bool: ...


class PacketSubscription(Protocol):
    async def get(self) -> EncodedVideo: ...

    def close(self) -> None: ...


class PacketSource(Protocol):
    """What a track needs from upstream: frames in order, and a way to ask for a keyframe."""

    def subscribe(self) -> PacketSubscription: ...

    def request_keyframe(self, reason: str) -> None: ...


class PacketTrack(MediaStreamTrack):
    """One viewer's video track over a shared source of encoded frames.

    It subscribes on the first ``recv()``, which aiortc calls only once DTLS is
    up: a packet sent earlier would be lost, and the viewer's first frame must be
    a keyframe anyway.
    """

    kind = "video"

    def __init__(self, source: PacketSource) -> None:
        super().__init__()
        self._source = source
        self._sub: PacketSubscription | None = None
        self.keyframe_requests = 0

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if self._sub is None:
            self._sub = self._source.subscribe()
        try:
            frame = await self._sub.get()
        except EOFError as exc:
            self.stop()
            raise MediaStreamError from exc
        return frame.packet

    def request_keyframe(self) -> None:
        self.keyframe_requests += 1
        self._source.request_keyframe("viewer PLI/FIR")

    def stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
            self._sub = None
        super().stop()


def attach(sender: RTCRtpSender, track: PacketTrack) -> None:
    """Route the sender's keyframe requests (PLI, FIR from the viewer) to the shared encoder.

    ``RTCRtpSender._handle_rtcp_packet`` calls ``self._send_keyframe()``; an
    instance attribute takes precedence over the method.
    """
    sender._send_keyframe = track.request_keyframe  # type: ignore[method-assign]
