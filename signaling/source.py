"""What a viewer's track needs of the frames it sends: the shape of one encoded frame, of a
rung of the source's layers, and of a pull subscription to them. The source (the relay's
fan-out) satisfies these structurally; signaling never imports it."""

from __future__ import annotations

from typing import Protocol

import av


class EncodedVideo(Protocol):
    """One encoded frame as the source delivers it."""

    @property
    def packet(self) -> av.Packet: ...

    @property
    def keyframe(self) -> bool: ...

    @property
    def layer(self) -> int: ...  # which encoding: 0 is the best

    @property
    def temporal(self) -> int: ...  # its temporal layer: 1 is a frame nothing refers to

    @property
    def picture(self) -> int: ...  # picture number, the same in every layer

    @property
    def tl0(self) -> int: ...  # the layer's count of temporal-layer-0 frames, mod 256


class RungInfo(Protocol):
    """What a viewer can be sent: a layer with its temporal layers up to ``temporal``."""

    @property
    def name(self) -> str: ...

    @property
    def layer(self) -> int: ...

    @property
    def temporal(self) -> int: ...

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    @property
    def fps(self) -> float: ...

    @property
    def bitrate(self) -> int: ...  # bits per second of payload


class PacketSubscription(Protocol):
    """One viewer's frames, in order, starting at a keyframe (aiortc's own sender pulls)."""

    layer: int  # the layer it gets now

    async def get(self) -> EncodedVideo: ...

    def switch(self, layer: int) -> None: ...  # at that layer's next keyframe

    def close(self) -> None: ...
