"""A machine-readable stamp drawn into the top of a video frame.

The stamp survives lossy coding (JPEG, VP8) so that the far end of the relay
(a test, a benchmark page reading a canvas, Python) can tell when a frame was
sent and which frame it was, and so measure latency and drops end to end.

Layout, for an image ``W`` pixels wide:

- one row of ``BLOCKS`` (48) blocks across the full width; block ``i`` covers
  ``x`` in ``[i*W//48, (i+1)*W//48)`` and ``y`` in ``[0, bh)`` with
  ``bh = max(8, W // 48)``; white is 1, black is 0;
- bits 0..31, most significant first, hold the send time in milliseconds of
  the wall clock modulo 2**32; bits 32..47 hold the frame counter modulo
  65536.

Reading: for each block, average the luma of its centre window (the middle
half of the block in both directions, see :func:`sample_window`) and compare
with 128 (``>= 128`` is 1). The same reader in JavaScript, for pages reading a
canvas, is ``readCode`` in ``web/static/framecode.js`` (served as
``/static/framecode.js``); a test checks that both read the same pixels alike.
"""

from __future__ import annotations

import time

import numpy as np

BLOCKS = 48
TIME_BITS = 32
COUNTER_BITS = 16
TIME_MODULO = 1 << TIME_BITS
COUNTER_MODULO = 1 << COUNTER_BITS
THRESHOLD = 128


def block_height(width: int) -> int:
    """Height in pixels of the code row for an image ``width`` pixels wide."""
    return max(8, width // BLOCKS)


def block_span(index: int, width: int) -> tuple[int, int]:
    """Horizontal extent ``[x0, x1)`` of block ``index``."""
    return index * width // BLOCKS, (index + 1) * width // BLOCKS


def sample_window(index: int, width: int, height: int) -> tuple[int, int, int, int]:
    """The window ``(x0, x1, y0, y1)`` averaged to read block ``index``.

    The middle half of the block keeps clear of the ringing that lossy codecs
    leave along the block edges. ``height`` is the image height; the window
    never reaches past it.
    """
    x0, x1 = block_span(index, width)
    bh = min(block_height(width), height)
    qx = (x1 - x0) // 4
    qy = bh // 4
    return x0 + qx, max(x1 - qx, x0 + qx + 1), qy, max(bh - qy, qy + 1)


def now_ms() -> int:
    """The wall clock in milliseconds modulo 2**32, as the code stores it."""
    return int(time.time() * 1000) % TIME_MODULO


def elapsed_ms(send_ms: int, at_ms: int | None = None) -> int:
    """Milliseconds from ``send_ms`` to ``at_ms`` (default now), across the wrap.

    Negative when ``send_ms`` lies in the future (clock skew between hosts).
    """
    at = now_ms() if at_ms is None else at_ms % TIME_MODULO
    diff = (at - send_ms) % TIME_MODULO
    return diff - TIME_MODULO if diff >= TIME_MODULO // 2 else diff


def encode_bits(send_ms: int, counter: int) -> list[int]:
    """The 48 bits, most significant first: send time then counter."""
    value = ((send_ms % TIME_MODULO) << COUNTER_BITS) | (counter % COUNTER_MODULO)
    return [(value >> (BLOCKS - 1 - i)) & 1 for i in range(BLOCKS)]


def decode_bits(bits: list[int]) -> tuple[int, int]:
    """Inverse of :func:`encode_bits`: ``(send_ms, counter)``."""
    if len(bits) != BLOCKS:
        raise ValueError(f"expected {BLOCKS} bits, got {len(bits)}")
    value = 0
    for bit in bits:
        value = (value << 1) | (1 if bit else 0)
    return value >> COUNTER_BITS, value & (COUNTER_MODULO - 1)


def draw_code(img: np.ndarray, send_ms: int, counter: int) -> None:
    """Draw the code into the top rows of ``img`` (BGR or gray uint8), in place."""
    if img.ndim not in (2, 3):
        raise ValueError("expected a gray (H, W) or colour (H, W, C) image")
    height, width = img.shape[:2]
    if width < BLOCKS:
        raise ValueError(f"image is {width} pixels wide, the code needs at least {BLOCKS}")
    bh = min(block_height(width), height)
    for i, bit in enumerate(encode_bits(send_ms, counter)):
        x0, x1 = block_span(i, width)
        img[0:bh, x0:x1] = 255 if bit else 0


def read_bits(gray: np.ndarray) -> list[int]:
    """The 48 raw bits of the code in ``gray`` (a luma image, or BGR converted)."""
    if gray.ndim == 3:
        gray = _luma(gray)
    if gray.ndim != 2:
        raise ValueError("expected a gray (H, W) image")
    height, width = gray.shape
    if width < BLOCKS or height < 1:
        raise ValueError(f"image is {width}x{height}, too small to hold the code")
    bits = []
    for i in range(BLOCKS):
        x0, x1, y0, y1 = sample_window(i, width, height)
        mean = float(gray[y0:y1, x0:x1].mean())
        bits.append(1 if mean >= THRESHOLD else 0)
    return bits


def read_code(gray: np.ndarray) -> tuple[int, int]:
    """Read ``(send_ms, counter)`` back from a luma image drawn by :func:`draw_code`.

    A 3-channel image is taken as BGR and converted to luma first.
    """
    return decode_bits(read_bits(gray))


def _luma(bgr: np.ndarray) -> np.ndarray:
    # BT.601 weights, the same as a canvas reader uses; only the top rows matter.
    top = bgr[: block_height(bgr.shape[1]), :, :3].astype(np.float32)
    return 0.114 * top[..., 0] + 0.587 * top[..., 1] + 0.299 * top[..., 2]
