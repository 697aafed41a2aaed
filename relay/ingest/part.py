"""What the multipart parser hands out: one part (a JPEG and its headers), and its counters."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TIMESTAMP_RE = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True, slots=True)
class Part:
    """One JPEG frame and its part headers (names lower-cased; empty when there were none)."""

    data: bytes
    headers: dict[str, str]

    @property
    def timestamp(self) -> float | None:
        """The board's capture time from ``X-Timestamp: <sec>.<usec>``; None if absent or bad."""
        value = self.headers.get("x-timestamp")
        if value is None:
            return None
        value = value.strip()
        if not _TIMESTAMP_RE.fullmatch(value):
            return None
        return float(value)


@dataclass(slots=True)
class ParserStats:
    """Counters since the parser was created."""

    frames: int = 0
    dropped_invalid: int = 0  # parts that were not complete JPEGs (no SOI, no EOI, ...)
    dropped_oversize: int = 0  # parts larger than max_frame_size
    # Bytes skipped between parts; whitespace right before the next part is framing.
    garbage_bytes: int = 0


def parse_length(value: str | None) -> int | None:
    """A Content-Length value: digits only, else None (the JPEG's markers decide)."""
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() and value.isascii() else None
