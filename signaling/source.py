"""What a viewer's track needs of the frames it sends: the shape of one encoded frame, and of a
pull subscription to them. The source (the relay's fan-out) satisfies these structurally;
signaling never imports it."""

from __future__ import annotations

from typing import Protocol

import av


class EncodedVideo(Protocol):
    """One encoded frame as the source delivers it."""

    @property
    def packet(self) -> av.Packet: ...

    @property
    def keyframe(self) -> bool: ...


class PacketSubscription(Protocol):
    """One viewer's frames, in order, starting at a keyframe (aiortc's own sender pulls)."""

    async def get(self) -> EncodedVideo: ...

    def close(self) -> None: ...
