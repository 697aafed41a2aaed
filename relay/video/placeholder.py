"""The frame viewers see while their camera is away.

The last good frame, dimmed, with a banner saying what is going on ("camera offline,
reconnecting, attempt N, since HH:MM:SS"); a plain dark frame of the default size when
the camera has not sent a frame since the relay started. The pipeline encodes these at
a low rate, so browsers keep the track playing and show the pause for what it is.

Placeholder frames of simulated cameras (and of cameras under test) carry the frame code
(:mod:`relay.video.framecode`) ``PLACEHOLDER_CODE`` in their top row, so a test or a
benchmark can tell them from the camera's own frames; a real camera's viewers do not see
that strip.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from .framecode import BLOCKS, block_height, draw_code

DEFAULT_SIZE = (800, 600)  # width, height: SVGA, the stock firmware's default framesize
# (send_ms, counter) drawn into placeholder frames: a camera frame's send time is the
# wall clock, never 0.
PLACEHOLDER_CODE = (0, 0xA55A)
DIM = 0.35  # brightness kept of the last good frame
BACKGROUND = 24  # grey level of the frame shown when there is no last frame
_FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True, slots=True)
class AwayInfo:
    """What the banner says about the camera."""

    connected: bool  # the stream connection is up but no frame comes (a stall)
    attempt: int  # reconnect attempts since the camera last streamed
    since: float  # wall-clock time of the last good frame (or of the relay's start)


def banner_text(info: AwayInfo) -> str:
    at = time.strftime("%H:%M:%S", time.localtime(info.since))
    if info.connected:
        return f"camera not sending, waiting, since {at}"
    return f"camera offline, reconnecting, attempt {max(1, info.attempt)}, since {at}"


def is_placeholder(code: tuple[int, int]) -> bool:
    """Whether a frame code read from a frame marks it as a placeholder."""
    return code == PLACEHOLDER_CODE


class Placeholder:
    """Renders offline frames as BGR images. Used from one worker thread at a time."""

    def __init__(self, default_size: tuple[int, int] = DEFAULT_SIZE, mark: bool = True) -> None:
        self.default_size = default_size
        self.mark = mark  # draw PLACEHOLDER_CODE
        self._last: np.ndarray | None = None
        self._dimmed: np.ndarray | None = None  # the dimmed last frame, computed once

    @property
    def has_frame(self) -> bool:
        return self._last is not None

    def remember(self, bgr: np.ndarray) -> None:
        """Keep a reference to the last good frame; it is only ever read."""
        self._last = bgr
        self._dimmed = None

    def forget(self) -> None:
        self._last = self._dimmed = None

    def render(self, info: AwayInfo) -> np.ndarray:
        """A new BGR image: the dimmed last frame (or a dark one) with the banner."""
        if self._last is not None:
            if self._dimmed is None:
                self._dimmed = cv2.convertScaleAbs(self._last, alpha=DIM)
            img = self._dimmed.copy()
        else:
            width, height = self.default_size
            img = np.full((height, width, 3), BACKGROUND, np.uint8)
        draw_banner(img, banner_text(info))
        height, width = img.shape[:2]
        if self.mark and width >= BLOCKS:
            # Blank the band first: the dimmed camera code must not show through.
            img[: min(block_height(width), height)] = 0
            draw_code(img, *PLACEHOLDER_CODE)
        return img


def draw_banner(img: np.ndarray, text: str) -> None:
    """Draw ``text`` centred on a dark band across the middle of ``img``, in place."""
    height, width = img.shape[:2]
    (tw, th), baseline = cv2.getTextSize(text, _FONT, 1.0, 2)
    scale = max(0.2, min(1.2, 0.92 * width / max(tw, 1)))
    thickness = max(1, round(2 * scale))
    (tw, th), baseline = cv2.getTextSize(text, _FONT, scale, thickness)
    pad = max(4, th // 2)
    band_h = th + baseline + 2 * pad
    y0 = max(0, (height - band_h) // 2)
    y1 = min(height, y0 + band_h)
    band = img[y0:y1]
    band[:] = (band * 0.3).astype(np.uint8)  # darker still under the text
    cv2.line(img, (0, y0), (width - 1, y0), (40, 40, 200), max(1, thickness))
    x = max(0, (width - tw) // 2)
    y = y0 + pad + th
    cv2.putText(img, text, (x, y), _FONT, scale, (255, 255, 255), thickness, cv2.LINE_AA)
