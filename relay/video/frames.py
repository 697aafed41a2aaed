"""What a camera's encoder hands on: one encoded frame, and the clock of its timestamps."""

from __future__ import annotations

import fractions
from dataclasses import dataclass

import av

VIDEO_CLOCK = 90_000  # RTP's video clock: packet timestamps count in 1/90000 s
TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK)


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """One encoded frame, shared read-only by every viewer's sender on the event loop."""

    packet: av.Packet  # pts in 1/90000, as RTP's video clock
    keyframe: bool
    width: int
    height: int
    seq: int  # camera frame number
    received: float  # perf_counter() when the JPEG's last byte arrived
    encoded: float  # perf_counter() when the encoder returned it
    layer: int = 0  # which of the camera's encodings (relay.video.layers): 0 is full size
    temporal: int = 0  # its temporal layer: 1 is a frame no other frame refers to
    picture: int = 0  # camera picture number, the same in every layer (RTP picture ID)
    tl0: int = 0  # the layer's count of temporal-layer-0 frames, mod 256 (TL0PICIDX)
