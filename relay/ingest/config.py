"""The ingest's settings of one camera: where its stream is and how patiently to read it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StreamConfig:
    """How one camera's MJPEG stream is read (camera-level keys of ``[[cameras]]``)."""

    url: str | None = None  # the board's stream, e.g. http://192.168.1.40:81/stream
    max_frame_size: int = 4 * 1024 * 1024  # bytes; larger parts are dropped
    connect_timeout: float = 5.0
    read_timeout: float = 5.0
    stall_timeout: float = 3.0  # no complete frame for this long: reconnect
    backoff_min: float = 0.2
    backoff_max: float = 10.0
