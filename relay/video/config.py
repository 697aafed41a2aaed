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
