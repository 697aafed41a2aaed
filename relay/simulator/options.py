"""How the simulated board is reached, what it sends, and how it misbehaves."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from pydantic import Field

from ..common.settings import SECTION
from .faults import Faults


@dataclass
class SimulatorOptions:
    """How the simulated board is reached, what it sends, and how it misbehaves."""

    host: str = "127.0.0.1"
    control_port: int = 80  # 0 picks a free port
    stream_port: int = 81  # 0 picks a free port
    fps: float = 25.0
    # Framesize enum value in the active table; None is SVGA (800x600): 11 in the new
    # table, 9 in the legacy one.
    framesize: int | None = None
    quality: int = 12  # OV2640 JPEG quantizer, 4..63, lower is better
    # The frame code's counter of the first stream frame: boards run side by side in a test
    # count in ranges of their own, so a frame tells which board sent it.
    first_frame: int = 0
    # Announce the board over mDNS under this name (_http._tcp on the control port).
    mdns_name: str | None = None
    # "camera": a textured room with a ball, a dial and text; "plain": a flat background and
    # one moving box, where a relay's fixed cost per frame shows most (bench).
    scene: str = "camera"
    legacy_framesize_enum: bool = False
    # Older sketches: part header (no X-Timestamp) and JPEG first, boundary after,
    # so no boundary precedes the first frame.
    legacy_stream_format: bool = False
    # Some old builds answer /stream without the "HTTP/1.1 200 OK" status line.
    no_status_line: bool = False
    # Flash LED support compiled in: led_intensity accepted and reported, and
    # /capture waits 150 ms for the LED like the sketch. False reports -1.
    led_illuminator: bool = True
    capture_led_delay: float = 0.15
    # Stream clients that may wait while one streams (lwIP listen backlog);
    # further ones are reset.
    stream_backlog: int = 5
    faults: Faults = field(default_factory=Faults)


@dataclass(frozen=True)
class SimulatorConfig:
    """The built-in simulated camera a relay starts for a camera with ``simulate = true``
    (and for the embedded default)."""

    __pydantic_config__ = SECTION

    fps: Annotated[float, Field(gt=0, le=60)] = 25.0
    # SVGA 800x600 in the current framesize table
    framesize: Annotated[int, Field(ge=0, le=23)] = 11
    quality: Annotated[int, Field(ge=4, le=63)] = 12
