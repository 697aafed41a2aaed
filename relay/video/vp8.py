"""A VP8 encoder of a camera (libvpx through PyAV), tuned for the lowest latency.

Realtime deadline, no lag frames, error resilient, CBR with a short buffer: every
frame goes out as soon as it is encoded. When keyframes are made is decided by
:class:`relay.video.keyframes.KeyframePolicy`.

A camera has one per layer (:mod:`relay.video.layers`). The low layer's encoder may
make two temporal layers (libvpx's 2-layer pattern through FFmpeg's ``ts-parameters``):
even frames (layer 0) refer only to earlier even frames, odd frames (layer 1) to the
even frame before them and to nothing later. Dropping every odd frame for a viewer
leaves a stream it decodes exactly as the full one (``tests/unit/video/test_layers.py``
compares the pictures), at half the frame rate and about 60 % of the bitrate.
"""

from __future__ import annotations

import logging

import av
from av.video.codeccontext import VideoCodecContext

from .config import EncoderConfig
from .frames import TIME_BASE

log = logging.getLogger(__name__)

_REFERENCE_PIXELS = 800 * 600
MIN_BITRATE = 60_000
TL0_SHARE = 0.6  # of a two-layer encoder's bitrate, given to its even frames


def scaled_bitrate(bitrate: int, width: int, height: int) -> int:
    """The configured bitrate is for 800x600; scale it sub-linearly with the picture area."""
    factor = (width * height / _REFERENCE_PIXELS) ** 0.75
    return int(min(max(bitrate * factor, 150_000), 50_000_000))


def temporal_layer(index: int, layers: int) -> int:
    """Which temporal layer the encoder's ``index``-th frame belongs to (libvpx's pattern)."""
    return index % 2 if layers == 2 else 0


class Vp8Encoder:
    """Wraps a libvpx context; re-creates it when the picture size changes.

    Used from one worker thread at a time (the camera's pipeline thread).
    """

    def __init__(
        self,
        cfg: EncoderConfig,
        *,
        share: float = 1.0,
        reference: tuple[int, int] | None = None,
        temporal_layers: int = 1,
    ) -> None:
        """``share`` of the bitrate the configured one scales to at the ``reference`` size
        (the camera's full size; default: the encoded size itself)."""
        if temporal_layers not in (1, 2):
            raise ValueError("temporal_layers must be 1 or 2")
        self._cfg = cfg
        self.share = share
        self.reference = reference
        self.temporal_layers = temporal_layers
        self._ctx: VideoCodecContext | None = None
        self.size: tuple[int, int] | None = None
        self.bitrate = 0
        self.recreated = 0
        self.frames = 0  # encode calls since the context opened: the temporal pattern's index
        self._key_owed = False
        self.encoded = 0  # frames encoded over its whole life (counted by tests)

    @property
    def configured_bitrate(self) -> int:
        """The bitrate set for the full size (``[cameras.encoder] bitrate``)."""
        return self._cfg.bitrate

    def _open(self, width: int, height: int) -> VideoCodecContext:
        ref_w, ref_h = self.reference or (width, height)
        bitrate = max(
            int(scaled_bitrate(self._cfg.bitrate, ref_w, ref_h) * self.share), MIN_BITRATE
        )
        self.bitrate = bitrate
        ctx = av.CodecContext.create("libvpx", "w")
        assert isinstance(ctx, VideoCodecContext)
        ctx.width = width
        ctx.height = height
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = TIME_BASE
        ctx.bit_rate = bitrate
        ctx.gop_size = 1 << 30  # keyframes only when we ask: kf_max_dist
        ctx.qmin = 4
        ctx.qmax = 56
        ctx.thread_count = self._cfg.threads
        ctx.options = {
            "deadline": "realtime",
            "cpu-used": str(self._cfg.cpu_used),
            "lag-in-frames": "0",
            "error-resilient": "1",
            "auto-alt-ref": "0",
            "end-usage": "cbr",
            "minrate": str(bitrate),
            "maxrate": str(bitrate),
            # rc_buf_sz (ms) = bufsize * 1000 / bitrate: a short buffer keeps frames small and even.
            "bufsize": str(bitrate // 2),
            "undershoot-pct": "95",
            "overshoot-pct": "15",
            "static-thresh": "0",
            "noise-sensitivity": "0",
            "max-intra-rate": "300",  # keyframes at most 3x a frame's budget: short bursts
        }
        if self.temporal_layers == 2:
            kbps = bitrate // 1000
            ctx.options = {
                **ctx.options,
                "ts-parameters": (
                    f"ts_number_layers=2:ts_target_bitrate={int(kbps * TL0_SHARE)},{kbps}"
                    ":ts_rate_decimator=2,1:ts_periodicity=2:ts_layer_id=0,1:ts_layering_mode=2"
                ),
            }
        ctx.open()
        self.frames = 0
        log.info(
            "VP8 encoder opened at %dx%d, %d bit/s, %d temporal layer(s)",
            width,
            height,
            bitrate,
            self.temporal_layers,
        )
        return ctx

    def encode(
        self, frame: av.VideoFrame, pts: int, keyframe: bool
    ) -> tuple[list[av.Packet], bool, int]:
        """Encode one frame; returns its packets, whether they form a keyframe, and its
        temporal layer (0 for keyframes: every viewer needs them).

        A size change re-creates the encoder, whose first frame is always a keyframe.
        """
        size = (frame.width, frame.height)
        if self._ctx is None or size != self.size:
            if self._ctx is not None:
                self.recreated += 1
            self._ctx = self._open(*size)
            self.size = size
            keyframe = True
        if self.temporal_layers == 2 and self.frames % 2 == 1:
            # A keyframe in a layer-1 slot leaves libvpx's next layer-0 frames referring
            # to what layer-1-only viewers never had: it waits one frame for a layer-0 slot.
            self._key_owed = self._key_owed or keyframe
            keyframe = False
        elif self._key_owed:
            keyframe, self._key_owed = True, False
        frame.pts = pts
        frame.time_base = TIME_BASE
        frame.pict_type = (
            av.video.frame.PictureType.I if keyframe else av.video.frame.PictureType.NONE
        )
        packets = self._ctx.encode(frame)
        # FFmpeg advances the pattern once per frame given to it, encoded or dropped.
        layer = temporal_layer(self.frames, self.temporal_layers)
        self.frames += 1
        self.encoded += 1
        for p in packets:
            p.pts = pts
            p.time_base = TIME_BASE
        is_key = any(p.is_keyframe for p in packets)
        return packets, is_key, 0 if is_key else layer

    def close(self) -> None:
        self._ctx = None
