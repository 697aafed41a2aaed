"""A camera's layers: the encodings its viewers choose between, each encoded once.

Layer 0 is the camera's full size at the configured bitrate; layer 1 (``[cameras.layers]
low``) a smaller picture at a fraction of it, with two temporal layers. What a viewer can
receive is a *rung*: a layer, and how many of its temporal layers. Rungs are ordered from
the best (full size, every frame) to the cheapest (low layer, every second frame).

Why two layers and no more: a viewer on a LAN needs the full picture, a viewer behind a
phone link or a busy uplink needs something several times smaller, and each extra layer
costs an encoder's time on every frame it is watched. The low layer at half width and
height costs about a quarter of the full-size encoder (``make bench`` measures the
camera's CPU with it on and off).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import EncoderConfig, LayersConfig
from .keyframes import KeyframePolicy
from .vp8 import TL0_SHARE, Vp8Encoder


@dataclass
class Layer:
    """One encoding of a camera: its encoder, its keyframe policy, its counters."""

    index: int
    name: str
    scale: float
    encoder: Vp8Encoder
    keyframes: KeyframePolicy
    idle: bool = True  # not encoded for the last frame: the next one must be a keyframe
    _tl0: int = field(default=0, repr=False)

    @property
    def temporal_layers(self) -> int:
        return self.encoder.temporal_layers

    def size_for(self, width: int, height: int) -> tuple[int, int]:
        """This layer's picture size for a camera frame of ``width`` x ``height`` (even)."""
        if self.scale == 1.0:
            return width, height
        return max(int(width * self.scale) & ~1, 16), max(int(height * self.scale) & ~1, 16)

    def next_tl0(self, temporal: int) -> int:
        """The TL0PICIDX (RFC 7741) of this layer's next frame: counts its layer-0 frames."""
        if temporal == 0:
            self._tl0 = (self._tl0 + 1) & 0xFF
        return self._tl0


@dataclass(frozen=True)
class Rung:
    """What a viewer can be sent: ``layer``, its temporal layers up to ``temporal``."""

    name: str
    layer: int
    temporal: int
    width: int
    height: int
    fps: float
    bitrate: int  # bits per second of the VP8 payload, measured (configured until then)


def build_layers(encoder: EncoderConfig, cfg: LayersConfig) -> list[Layer]:
    def policy() -> KeyframePolicy:
        return KeyframePolicy(min_gap=encoder.keyframe_min_gap, interval=encoder.keyframe_interval)

    layers = [Layer(0, "full", 1.0, Vp8Encoder(encoder), policy())]
    if cfg.low:
        low = Vp8Encoder(encoder, share=cfg.low_share, temporal_layers=2 if cfg.low_temporal else 1)
        layers.append(Layer(1, "low", cfg.low_scale, low, policy()))
    return layers


def temporal_share(layer: Layer, temporal: int) -> float:
    """The configured share of a layer's bitrate its temporal layers up to ``temporal`` get."""
    if layer.temporal_layers == 2 and temporal == 0:
        return TL0_SHARE
    return 1.0
