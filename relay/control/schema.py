"""The board's control variables (names, types, ranges) and the check of every request.

Pure: no I/O and no clocks of its own (times are passed in). Everything a
viewer asks for is checked here before the forwarder may send it, because the
board checks few ranges itself (``led_intensity`` none at all, most toggles
are stored into a ``uint8_t`` unchecked).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .framesizes import NEW_TABLE, FramesizeTable, is_large_sensor


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
