"""The video settings of one camera (``[cameras.encoder]``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from ..common.settings import SECTION


@dataclass(frozen=True)
class EncoderConfig:
    """Settings of the one VP8 encoder a camera has."""

    __pydantic_config__ = SECTION

    # Bits per second; LAN viewers, so generous
    bitrate: Annotated[int, Field(ge=100_000, le=50_000_000)] = 2_000_000
    # libvpx realtime speed: 16 is fastest; same PSNR as 12 on camera scenes
    cpu_used: Annotated[int, Field(ge=0, le=16)] = 16
    # libvpx threads; 1 keeps latency lowest at SVGA on two cores
    threads: Annotated[int, Field(ge=1, le=16)] = 1
    # Seconds between periodic keyframes (0: only on demand)
    keyframe_interval: Annotated[float, Field(ge=0)] = 10.0
    # Seconds: at most one requested keyframe per gap
    keyframe_min_gap: Annotated[float, Field(ge=0)] = 0.5


@dataclass(frozen=True)
class LayersConfig:
    """``[cameras.layers]``: the smaller encoding viewers on slow links get.

    The low layer is encoded from the same decoded frame as the full-size one, by its own
    VP8 encoder, and only while a viewer receives it or is being switched to it. It has two
    temporal layers: a viewer whose link cannot carry even the low layer gets every second
    frame of it (the frames no other frame refers to), never a growing queue.
    """

    __pydantic_config__ = SECTION

    low: bool = True  # false: one encoding, every viewer gets the full size
    # Width and height of the low layer, relative to the camera's
    low_scale: Annotated[float, Field(ge=0.1, le=0.75)] = 0.5
    # Its bitrate, relative to the full-size encoder's
    low_share: Annotated[float, Field(ge=0.02, le=0.75)] = 0.15
    low_temporal: bool = True  # two temporal layers in the low layer (half rate possible)
    adapt: bool = True  # false: viewers stay on the layer they start on (tests, benches)
