"""The ingest's settings of one camera: where its stream is and how patiently to read it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, Field

from ..common.settings import SECTION, http_url

Seconds = Annotated[float, Field(gt=0)]


@dataclass(frozen=True)
class StreamConfig:
    """How one camera's MJPEG stream is read (camera-level keys of ``[[cameras]]``)."""

    __pydantic_config__ = SECTION

    # The board's stream, e.g. http://192.168.1.40:81/stream
    url: Annotated[str | None, AfterValidator(http_url)] = None
    # Bytes; larger parts are dropped
    max_frame_size: Annotated[int, Field(ge=1024)] = 4 * 1024 * 1024
    connect_timeout: Seconds = 5.0
    read_timeout: Seconds = 5.0
    stall_timeout: Seconds = 3.0  # no complete frame for this long: reconnect
    backoff_min: Seconds = 0.2
    backoff_max: Seconds = 10.0
