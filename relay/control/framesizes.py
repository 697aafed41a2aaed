"""The board's frame sizes: esp32-camera's two enum tables, and learning which one a board uses.

Pure: no I/O and no clocks of its own (times are passed in). esp32-camera inserted
128X128 and 320X320 into ``framesize_t`` in November 2024, so the same number means
different sizes on older and newer firmware; :class:`FramesizeLearner` tells them apart
by pairing what /status reports with the size of the frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FrameSize:
    name: str
    width: int
    height: int

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


_SMALL_OLD = (
    FrameSize("96X96", 96, 96),
    FrameSize("QQVGA", 160, 120),
    FrameSize("QCIF", 176, 144),
    FrameSize("HQVGA", 240, 176),
    FrameSize("240X240", 240, 240),
    FrameSize("QVGA", 320, 240),
    FrameSize("CIF", 400, 296),
    FrameSize("HVGA", 480, 320),
    FrameSize("VGA", 640, 480),
    FrameSize("SVGA", 800, 600),
    FrameSize("XGA", 1024, 768),
    FrameSize("HD", 1280, 720),
    FrameSize("SXGA", 1280, 1024),
    FrameSize("UXGA", 1600, 1200),
)
# 3 MP and 5 MP sensors (OV3660, OV5640) continue the table after UXGA.
_LARGE = (
    FrameSize("FHD", 1920, 1080),
    FrameSize("P_HD", 720, 1280),
    FrameSize("P_3MP", 864, 1536),
    FrameSize("QXGA", 2048, 1536),
    FrameSize("QHD", 2560, 1440),
    FrameSize("WQXGA", 2560, 1600),
    FrameSize("P_FHD", 1080, 1920),
    FrameSize("QSXGA", 2560, 1920),
)


def _with_new_sizes(old: tuple[FrameSize, ...]) -> tuple[FrameSize, ...]:
    # esp32-camera inserted 128X128 after QQVGA and 320X320 after QVGA in November 2024.
    out: list[FrameSize] = []
    for fs in old:
        out.append(fs)
        if fs.name == "QQVGA":
            out.append(FrameSize("128X128", 128, 128))
        elif fs.name == "QVGA":
            out.append(FrameSize("320X320", 320, 320))
    return tuple(out)


@dataclass(frozen=True)
class FramesizeTable:
    """One version of esp32-camera's ``framesize_t`` enum."""

    name: str  # "new" or "legacy"
    sizes: tuple[FrameSize, ...]

    def get(self, value: int) -> FrameSize | None:
        return self.sizes[value] if 0 <= value < len(self.sizes) else None

    def index(self, name: str) -> int | None:
        upper = name.strip().upper()
        for i, fs in enumerate(self.sizes):
            if fs.name == upper:
                return i
        return None

    def max_value(self, large_sensor: bool) -> int:
        """Largest value the sensor takes: UXGA for the OV2640, the whole table otherwise."""
        if large_sensor:
            return len(self.sizes) - 1
        uxga = self.index("UXGA")
        assert uxga is not None
        return uxga

    def describe(self, large_sensor: bool) -> list[dict[str, Any]]:
        """The sizes a page may offer, in enum order, with the number to send."""
        return [
            {"value": i, "name": fs.name, "width": fs.width, "height": fs.height}
            for i, fs in enumerate(self.sizes[: self.max_value(large_sensor) + 1])
        ]


NEW_TABLE = FramesizeTable("new", _with_new_sizes(_SMALL_OLD + _LARGE))
LEGACY_TABLE = FramesizeTable("legacy", _SMALL_OLD + _LARGE)
TABLES: tuple[FramesizeTable, ...] = (NEW_TABLE, LEGACY_TABLE)


def is_large_sensor(status: Mapping[str, Any] | None) -> bool:
    """True for OV3660/OV5640 boards, whose /status starts with many ``0x3...`` registers.

    The OV2640 sketch prints exactly ``0xd3``, ``0x111`` and ``0x132``.
    """
    if not status:
        return False
    return any(k.startswith("0x3") and len(k) == 6 for k in status)


class FramesizeLearner:
    """Learns whether the board numbers frame sizes with the new or the legacy enum.

    Evidence is a pair (value /status reported, size of the frames). The two
    must describe the same moment: a board switches sizes a little after it
    accepts a new value, and its size may have been changed elsewhere since the
    last /status read. So a pair counts only when the frame size was already
    the same ``settle`` seconds before the /status request was sent and is
    still the same ``settle`` seconds after its answer arrived. When the frame
    size changes, the owner should read /status ``settle`` seconds later
    (:meth:`on_frame_size` says so): that read makes the next piece of evidence.
    """

    def __init__(self, settle: float = 0.5) -> None:
        self.settle = settle
        self.table: FramesizeTable | None = None
        self.frame_size: tuple[int, int] | None = None
        self._size_since: float | None = None
        # The latest /status framesize not yet judged: (value, sent_at, received_at).
        self._candidate: tuple[int, float, float] | None = None

    @property
    def learned(self) -> bool:
        return self.table is not None

    def table_or_guess(self) -> FramesizeTable:
        """The learned table; until then the current esp32-camera's."""
        return self.table or NEW_TABLE

    def on_status(self, value: Any, sent_at: float, received_at: float) -> None:
        """/status (or an applied set) reported ``framesize`` = ``value``."""
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            self._candidate = (value, sent_at, received_at)

    def on_frame_size(self, size: tuple[int, int], now: float) -> tuple[bool, bool]:
        """A frame of ``size`` arrived; returns (size changed, table changed)."""
        changed = size != self.frame_size
        if changed:
            self.frame_size = size
            self._size_since = now
            return True, False
        return False, self._judge(now)

    def _judge(self, now: float) -> bool:
        cand = self._candidate
        if cand is None or self._size_since is None or self.frame_size is None:
            return False
        value, sent_at, received_at = cand
        if now < received_at + self.settle:
            return False  # not yet sure the frames still match that answer
        self._candidate = None
        if self._size_since > sent_at - self.settle:
            return False  # frames changed around that read: the pair may mix two moments
        matches = [
            t for t in TABLES if (fs := t.get(value)) is not None and fs.size == self.frame_size
        ]
        if len(matches) != 1:
            return False  # both tables agree (96X96, QQVGA) or neither knows this size
        if matches[0] is self.table:
            return False
        self.table = matches[0]
        return True
