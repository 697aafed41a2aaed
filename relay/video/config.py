"""The video settings of one camera (``[cameras.encoder]``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EncoderConfig:
    """Settings of the one VP8 encoder a camera has."""

    bitrate: int = 2_000_000  # bits per second; LAN viewers, so generous
    cpu_used: int = 16  # libvpx realtime speed: 16 is fastest; same PSNR as 12 on camera scenes
    threads: int = 1  # libvpx threads; 1 keeps latency lowest at SVGA on two cores
    keyframe_interval: float = 10.0  # seconds between periodic keyframes (0: only on demand)
    keyframe_min_gap: float = 0.5  # seconds: at most one requested keyframe per gap


@dataclass(frozen=True)
class LayersConfig:
    """``[cameras.layers]``: the smaller encoding viewers on slow links get.

    The low layer is encoded from the same decoded frame as the full-size one, by its own
    VP8 encoder, and only while a viewer receives it or is being switched to it. It has two
    temporal layers: a viewer whose link cannot carry even the low layer gets every second
    frame of it (the frames no other frame refers to), never a growing queue.
    """

    low: bool = True  # false: one encoding, every viewer gets the full size
    low_scale: float = 0.5  # width and height of the low layer, relative to the camera's
    low_share: float = 0.15  # its bitrate, relative to the full-size encoder's
    low_temporal: bool = True  # two temporal layers in the low layer (half rate possible)
    adapt: bool = True  # false: viewers stay on the layer they start on (tests, benches)
