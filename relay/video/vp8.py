"""The one VP8 encoder of a camera (libvpx through PyAV), tuned for the lowest latency.

Realtime deadline, no lag frames, error resilient, CBR with a short buffer: every
frame goes out as soon as it is encoded. When keyframes are made is decided by
:class:`relay.video.keyframes.KeyframePolicy`.
"""

from __future__ import annotations

import logging

import av
from av.video.codeccontext import VideoCodecContext

from .config import EncoderConfig
from .frames import TIME_BASE

log = logging.getLogger(__name__)

_REFERENCE_PIXELS = 800 * 600


def scaled_bitrate(bitrate: int, width: int, height: int) -> int:
    """The configured bitrate is for 800x600; scale it sub-linearly with the picture area."""
    factor = (width * height / _REFERENCE_PIXELS) ** 0.75
    return int(min(max(bitrate * factor, 150_000), 50_000_000))


class Vp8Encoder:
    """Wraps a libvpx context; re-creates it when the picture size changes.

    Used from one worker thread at a time (the camera's pipeline thread).
    """

    def __init__(self, cfg: EncoderConfig) -> None:
        self._cfg = cfg
        self._ctx: VideoCodecContext | None = None
        self.size: tuple[int, int] | None = None
        self.recreated = 0

    def _open(self, width: int, height: int) -> VideoCodecContext:
        bitrate = scaled_bitrate(self._cfg.bitrate, width, height)
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
        ctx.open()
        log.info("VP8 encoder opened at %dx%d, %d bit/s", width, height, bitrate)
        return ctx

    def encode(
        self, frame: av.VideoFrame, pts: int, keyframe: bool
    ) -> tuple[list[av.Packet], bool]:
        """Encode one frame; returns its packets and whether they form a keyframe.

        A size change re-creates the encoder, whose first frame is always a keyframe.
        """
        size = (frame.width, frame.height)
        if self._ctx is None or size != self.size:
            if self._ctx is not None:
                self.recreated += 1
            self._ctx = self._open(*size)
            self.size = size
            keyframe = True
        frame.pts = pts
        frame.time_base = TIME_BASE
        frame.pict_type = (
            av.video.frame.PictureType.I if keyframe else av.video.frame.PictureType.NONE
        )
        packets = self._ctx.encode(frame)
        for p in packets:
            p.pts = pts
            p.time_base = TIME_BASE
        is_key = any(p.is_keyframe for p in packets)
        return packets, is_key

    def close(self) -> None:
        self._ctx = None
