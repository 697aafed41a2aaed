"""A complete JPEG as it came off a camera's stream, and what its header says."""

from __future__ import annotations

import struct
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class JpegFrame:
    """A complete JPEG as it came off the camera's stream."""

    data: bytes
    seq: int
    received: float  # perf_counter() when its last byte arrived
    camera_time: float | None = None  # the board's X-Timestamp, when sent


def jpeg_size(data: bytes, limit: int = 65536) -> tuple[int, int] | None:
    """(width, height) from a JPEG's SOF header, or None; reads only the header."""
    if len(data) < 4 or data[0] != 0xFF or data[1] != 0xD8:
        return None
    pos, end = 2, min(len(data), limit)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            pos += 1  # stray bytes before a marker: cameras produce them
            continue
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):
            return None  # end of image or scan data before any frame header
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if pos + 9 > len(data):
                return None
            height, width = struct.unpack_from(">HH", data, pos + 5)
            return (width, height) if width and height else None
        pos += 2 + length
    return None
