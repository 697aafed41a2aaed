"""The board's control variables: names, types, ranges, and which framesize table it uses.

Pure: no I/O and no clocks of its own (times are passed in). Everything a
viewer asks for is checked here before the forwarder may send it, because the
board checks few ranges itself (``led_intensity`` none at all, most toggles
are stored into a ``uint8_t`` unchecked).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

# --------------------------------------------------------------------------- framesize tables


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


# --------------------------------------------------------------------------- the variables


@dataclass(frozen=True)
class Variable:
    """One ``/control`` variable as the page shows it and the relay checks it."""

    name: str
    label: str
    group: str
    kind: str  # "range", "toggle", "choice" or "framesize"
    lo: int = 0
    hi: int = 1
    options: tuple[str, ...] = ()  # names of lo..hi, for "choice"
    # Settable only when /status reports the key (flash LED, face detection builds).
    needs_status_key: bool = False

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "var": self.name,
            "label": self.label,
            "group": self.group,
            "kind": self.kind,
            "min": self.lo,
            "max": self.hi,
        }
        if self.options:
            out["options"] = list(self.options)
        return out


def _toggle(name: str, label: str, group: str) -> Variable:
    return Variable(name, label, group, "toggle", 0, 1)


def _range(name: str, label: str, group: str, lo: int, hi: int) -> Variable:
    return Variable(name, label, group, "range", lo, hi)


# The board's own page, in its order and groups.
VARIABLES: tuple[Variable, ...] = (
    Variable("framesize", "Resolution", "Image", "framesize", 0, len(NEW_TABLE.sizes) - 1),
    _range("quality", "Quality", "Image", 4, 63),
    _range("brightness", "Brightness", "Image", -2, 2),
    _range("contrast", "Contrast", "Image", -2, 2),
    _range("saturation", "Saturation", "Image", -2, 2),
    Variable(
        "special_effect",
        "Special effect",
        "Image",
        "choice",
        0,
        6,
        ("No effect", "Negative", "Grayscale", "Red tint", "Green tint", "Blue tint", "Sepia"),
    ),
    _toggle("awb", "AWB", "White balance"),
    _toggle("awb_gain", "AWB gain", "White balance"),
    Variable(
        "wb_mode",
        "WB mode",
        "White balance",
        "choice",
        0,
        4,
        ("Auto", "Sunny", "Cloudy", "Office", "Home"),
    ),
    _toggle("aec", "AEC sensor", "Exposure"),
    _toggle("aec2", "AEC DSP", "Exposure"),
    _range("ae_level", "AE level", "Exposure", -2, 2),
    _range("aec_value", "Exposure", "Exposure", 0, 1200),
    _toggle("agc", "AGC", "Gain"),
    _range("agc_gain", "Gain", "Gain", 0, 30),
    Variable(
        "gainceiling",
        "Gain ceiling",
        "Gain",
        "choice",
        0,
        6,
        ("2x", "4x", "8x", "16x", "32x", "64x", "128x"),
    ),
    _toggle("bpc", "BPC", "Corrections"),
    _toggle("wpc", "WPC", "Corrections"),
    _toggle("raw_gma", "Raw GMA", "Corrections"),
    _toggle("lenc", "Lens correction", "Corrections"),
    _toggle("hmirror", "H-Mirror", "Orientation"),
    _toggle("vflip", "V-Flip", "Orientation"),
    _toggle("dcw", "DCW (downsize)", "Orientation"),
    _toggle("colorbar", "Color bar", "Orientation"),
    Variable("led_intensity", "LED intensity", "Light", "range", 0, 255, needs_status_key=True),
    Variable("face_detect", "Face detection", "Face", "toggle", 0, 1, needs_status_key=True),
    Variable("face_recognize", "Face recognition", "Face", "toggle", 0, 1, needs_status_key=True),
    Variable("face_enroll", "Enroll face", "Face", "toggle", 0, 1, needs_status_key=True),
)
BY_NAME: Mapping[str, Variable] = MappingProxyType({v.name: v for v in VARIABLES})

# In /status but refused by the stock /control (it answers 500): never sent.
READ_ONLY: Mapping[str, str] = MappingProxyType(
    {
        "sharpness": "the stock firmware reports sharpness but cannot set it",
        "denoise": "the stock firmware reports denoise but cannot set it",
        "xclk": "xclk is an expert setting (/xclk), not forwarded",
        "pixformat": "the pixel format cannot be changed over /control",
    }
)

# Keys /status never reports although /control sets them: the relay remembers what it applied.
UNREPORTED: tuple[str, ...] = ("vflip",)


def schema() -> list[dict[str, Any]]:
    """Every variable for the page (the framesize choices come with the state)."""
    return [v.describe() for v in VARIABLES]


# --------------------------------------------------------------------------- requests


class InvalidRequest(ValueError):
    """A request that must not reach the board; the message says why."""


@dataclass(frozen=True)
class SetRequest:
    var: str
    val: int


@dataclass(frozen=True)
class GetRequest:
    pass


ControlRequest = SetRequest | GetRequest


@dataclass(frozen=True)
class BoardView:
    """What the validator knows about the board: its last /status and framesize table."""

    status: Mapping[str, Any] | None = None
    table: FramesizeTable | None = None

    @property
    def framesize_table(self) -> FramesizeTable:
        return self.table or NEW_TABLE

    @property
    def framesize_max(self) -> int:
        return self.framesize_table.max_value(is_large_sensor(self.status))


def parse_request(message: Mapping[str, Any], board: BoardView) -> ControlRequest:
    """Check one request object (``op`` and its fields); raises InvalidRequest."""
    op = message.get("op")
    if op == "get":
        return GetRequest()
    if op != "set":
        if op is None:
            raise InvalidRequest('missing \'op\' ("set" or "get")')
        raise InvalidRequest(f'unknown op {op!r}: use "set" or "get"')
    var = message.get("var")
    if var is None:
        raise InvalidRequest("missing 'var'")
    if not isinstance(var, str):
        raise InvalidRequest("'var' must be a string")
    if "val" not in message:
        raise InvalidRequest("missing 'val'")
    return SetRequest(var, check_value(var, message["val"], board))


def check_value(var: str, val: Any, board: BoardView) -> int:
    """The integer to send for ``var`` = ``val``; raises InvalidRequest."""
    spec = BY_NAME.get(var)
    if spec is None:
        reason = READ_ONLY.get(var)
        if reason:
            raise InvalidRequest(reason)
        raise InvalidRequest(f"unknown variable {var[:40]!r}")
    status = board.status
    if spec.needs_status_key and status is not None:
        reported = status.get(var)
        if reported is None:
            raise InvalidRequest(f"this board has no {var} (its /status does not report it)")
        if var == "led_intensity" and isinstance(reported, int) and reported < 0:
            raise InvalidRequest("this board has no flash LED (led_intensity is -1)")
    if spec.kind == "framesize" and isinstance(val, str):
        table = board.framesize_table
        index = table.index(val)
        if index is None or index > board.framesize_max:
            raise InvalidRequest(f"unknown frame size {val[:20]!r}")
        return index
    if isinstance(val, bool) or not isinstance(val, int):
        kind = "a frame size number or name" if spec.kind == "framesize" else "an integer"
        raise InvalidRequest(f"'val' for {var} must be {kind}, not {type(val).__name__}")
    hi = board.framesize_max if spec.kind == "framesize" else spec.hi
    if not spec.lo <= val <= hi:
        raise InvalidRequest(f"{var} must be within {spec.lo}..{hi}, not {val}")
    return val
