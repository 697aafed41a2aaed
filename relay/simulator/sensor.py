"""The simulated OV2640's settings, as /status reports them and /control changes them.

The setters behave like the sensor driver's: some check their range (the sketch then
answers 500), some clamp, most store the value into a ``uint8_t`` unchecked.
"""

from __future__ import annotations

from types import MappingProxyType

from ..control.framesizes import NEW_TABLE, FrameSize
from .options import SimulatorOptions
from .scene import RenderSettings

# esp32-camera since November 2024 (128X128 and 320X320 inserted), the relay's own table,
# up to UXGA: the simulated board is a 2 MP OV2640.
FRAMESIZES: tuple[FrameSize, ...] = NEW_TABLE.sizes[
    : [f.name for f in NEW_TABLE.sizes].index("UXGA") + 1
]

# Older esp32-camera: the same sizes without 128X128 and 320X320.
LEGACY_FRAMESIZES: tuple[FrameSize, ...] = tuple(
    fs for fs in FRAMESIZES if fs.name not in ("128X128", "320X320")
)


def framesize_table(legacy: bool) -> tuple[FrameSize, ...]:
    """The framesize enum of new (default) or old esp32-camera."""
    return LEGACY_FRAMESIZES if legacy else FRAMESIZES


def framesize_index(name: str, legacy: bool = False) -> int:
    """Enum value of framesize ``name`` (e.g. ``"SVGA"``) in the chosen table."""
    for i, fs in enumerate(framesize_table(legacy)):
        if fs.name == name.upper():
            return i
    raise ValueError(f"unknown framesize {name!r}")


def jpeg_quality(quantizer: int) -> int:
    """Map the OV2640 JPEG quantizer (4..63, lower is better) onto libjpeg quality.

    Linear from 4 -> 95 to 63 -> 15: the board's default 12 gives 84 and its
    worst setting gives the blocky look of a quality-15 JPEG.
    """
    q = min(max(quantizer, 4), 63)
    return round(95 - (q - 4) * 80 / 59)


# OV2640 register values the sketch prints first in /status.
_DEFAULT_REGISTERS = MappingProxyType({0xD3: 8, 0x111: 0, 0x132: 9})
_STATUS_REGISTERS = (0xD3, 0x111, 0x132)

# /status keys after the registers, in the sketch's order, with the OV2640 values
# after the sketch's setup.
_STATUS_DEFAULTS: tuple[tuple[str, int], ...] = (
    ("xclk", 20),
    ("pixformat", 4),  # PIXFORMAT_JPEG
    ("framesize", 0),  # set from the options
    ("quality", 12),
    ("brightness", 0),
    ("contrast", 0),
    ("saturation", 0),
    ("sharpness", 0),
    ("special_effect", 0),
    ("wb_mode", 0),
    ("awb", 1),
    ("awb_gain", 1),
    ("aec", 1),
    ("aec2", 0),
    ("ae_level", 0),
    ("aec_value", 168),
    ("agc", 1),
    ("agc_gain", 0),
    ("gainceiling", 0),
    ("bpc", 0),
    ("wpc", 1),
    ("raw_gma", 1),
    ("lenc", 1),
    ("hmirror", 0),
    ("dcw", 1),
    ("colorbar", 0),
    ("led_intensity", 0),
)
STATUS_KEYS: tuple[str, ...] = tuple(f"0x{r:x}" for r in _STATUS_REGISTERS) + tuple(
    k for k, _ in _STATUS_DEFAULTS
)

# The OV2640 driver's setters: these reject values outside their range (-> 500) ...
_CHECKED = MappingProxyType(
    {
        "brightness": (-2, 2),
        "contrast": (-2, 2),
        "saturation": (-2, 2),
        "ae_level": (-2, 2),
        "special_effect": (0, 6),
        "wb_mode": (0, 4),
    }
)
# ... these clamp ...
_CLAMPED = MappingProxyType({"agc_gain": (0, 30), "aec_value": (0, 1200)})
# ... and these store the value into a uint8_t status field unchecked.
_UNCHECKED_U8 = (
    "quality",
    "gainceiling",
    "colorbar",
    "awb",
    "agc",
    "aec",
    "hmirror",
    "vflip",
    "awb_gain",
    "aec2",
    "dcw",
    "bpc",
    "wpc",
    "raw_gma",
    "lenc",
)
CONTROL_VARIABLES: tuple[str, ...] = (
    ("framesize",) + tuple(_CHECKED) + tuple(_CLAMPED) + _UNCHECKED_U8 + ("led_intensity",)
)


def c_atoi(text: str) -> int:
    """C ``atoi`` as newlib does it on the ESP32 (``(int)strtol``, 32-bit long)."""
    i, n = 0, len(text)
    while i < n and text[i] in " \t\n\v\f\r":
        i += 1
    sign = 1
    if i < n and text[i] in "+-":
        sign = -1 if text[i] == "-" else 1
        i += 1
    start = i
    while i < n and "0" <= text[i] <= "9":
        i += 1
    value = sign * int(text[start:i]) if i > start else 0
    return min(max(value, -(2**31)), 2**31 - 1)


class SensorState:
    """The board's sensor settings, as /status reports and /control changes them."""

    def __init__(self, options: SimulatorOptions) -> None:
        self._table = framesize_table(options.legacy_framesize_enum)
        self._led = options.led_illuminator
        if options.framesize is None:
            framesize = framesize_index("SVGA", options.legacy_framesize_enum)
        elif 0 <= options.framesize < len(self._table):
            framesize = options.framesize
        else:
            raise ValueError(f"framesize {options.framesize} is not in the active table")
        self.values: dict[str, int] = dict(_STATUS_DEFAULTS)
        self.values["framesize"] = framesize
        self.values["quality"] = options.quality & 0xFF
        self.values["vflip"] = 0  # settable, not reported
        if not self._led:
            self.values["led_intensity"] = -1
        self.registers: dict[int, int] = dict(_DEFAULT_REGISTERS)

    @property
    def frame_size(self) -> tuple[int, int]:
        fs = self._table[self.values["framesize"]]
        return fs.width, fs.height

    def status(self) -> dict[str, int]:
        out = {f"0x{r:x}": self.registers.get(r, 0) for r in _STATUS_REGISTERS}
        out.update((k, self.values[k]) for k, _ in _STATUS_DEFAULTS)
        return out

    def set(self, var: str, val: int) -> bool:
        """Apply one /control variable; False where the board answers 500."""
        if var == "framesize":
            # framesize_t is unsigned; drivers clamp anything past their largest size.
            self.values[var] = min(val & 0xFFFFFFFF, len(self._table) - 1)
        elif var in _CHECKED:
            lo, hi = _CHECKED[var]
            if not lo <= val <= hi:
                return False
            self.values[var] = val
        elif var in _CLAMPED:
            lo, hi = _CLAMPED[var]
            self.values[var] = min(max(val, lo), hi)
        elif var in _UNCHECKED_U8:
            self.values[var] = val & 0xFF
        elif var == "led_intensity" and self._led:
            self.values[var] = val & 0xFFFFFFFF  # printed with %u
        else:
            return False
        return True

    def render_settings(self) -> RenderSettings:
        w, h = self.frame_size
        v = self.values
        return RenderSettings(
            width=w,
            height=h,
            jpeg_quality=jpeg_quality(v["quality"]),
            hmirror=bool(v["hmirror"]),
            vflip=bool(v["vflip"]),
            special_effect=v["special_effect"],
            brightness=v["brightness"],
            contrast=v["contrast"],
            saturation=v["saturation"],
            colorbar=bool(v["colorbar"]),
        )
