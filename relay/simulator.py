"""A simulated ESP32-CAM speaking the CameraWebServer wire protocol byte for byte.

Two servers, like the board: a control server (``/``, ``/status``,
``/control``, ``/capture``, ``/bmp`` and the expert endpoints) and a stream
server (``/stream``, multipart JPEG sent as HTTP chunks the way
``httpd_resp_send_chunk`` does). HTTP is written by hand on
``asyncio.start_server`` so that the bytes match ESP-IDF's ``esp_http_server``
and faults can be injected at byte level.

Like the board, the stream server serves one client at a time: a second
client is accepted but answered only after the first leaves; past a small
backlog, further clients are reset. The control server handles one request at
a time.

Frames are drawn fresh for their send moment (a moving scene, a clock, a frame
counter and the :mod:`relay.framecode` stamp) and JPEG-encoded in a worker
thread, never on the event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import math
import random
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any

import cv2
import numpy as np

from relay import framecode

from .controlschema import NEW_TABLE, FrameSize

# --------------------------------------------------------------------------- framesize tables


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


# --------------------------------------------------------------------------- options


@dataclass
class Faults:
    """Misbehaviour of real boards, all off by default.

    ``*_every`` fields count frames on one stream connection (1-based): a value
    of N hits frames N, 2N, 3N, ...; 0 disables the fault.
    """

    # Close the connection in the middle of the JPEG of every Nth frame.
    drop_every: int = 0
    # Pause this long before every Nth frame, socket open, nothing sent.
    stall_every: int = 0
    stall_seconds: float = 2.0
    # Send junk bytes (inside a valid HTTP chunk) before every Nth frame's boundary.
    garbage_every: int = 0
    garbage_bytes: int = 64
    # Damage the entropy-coded data of every Nth JPEG (markers and length stay intact).
    corrupt_every: int = 0
    # Send every Nth JPEG without its last third (no EOI); Content-Length matches.
    truncate_every: int = 0
    # Announce a Content-Length off by mislength_bytes for every Nth JPEG, alternately too
    # long (the part swallows the next boundary) and too short (the JPEG loses its end).
    mislength_every: int = 0
    mislength_bytes: int = 64
    # After every Nth frame: drop all connections, refuse new ones for reboot_seconds,
    # then come back with default settings, like a brownout.
    reboot_every: int = 0
    reboot_seconds: float = 3.0
    # Refuse every connection for this long after start() (the board is booting).
    refuse_first_seconds: float = 0.0
    # Answer /stream with 500 Internal Server Error and close.
    stream_http_500: bool = False
    # Send the stream no faster than this (small writes, like weak WiFi); 0 = unlimited.
    drip_bytes_per_second: int = 0
    # Control server. ``control_*_every`` count /control requests (1-based), except
    # control_reset_every, which counts every request the control server reads.
    # Answer every Nth /control with 500 and apply nothing (a sensor setter failing).
    control_500_every: int = 0
    # Reset the connection instead of answering every Nth request; nothing is applied.
    control_reset_every: int = 0
    # Hold every Nth /control for control_delay_seconds, then apply and answer it; the
    # httpd serves nothing else meanwhile.
    control_delay_every: int = 0
    control_delay_seconds: float = 3.0
    # On every Nth /control: reset it and refuse control connections for
    # control_outage_seconds (WiFi drop-out); the stream and the settings stay.
    control_outage_every: int = 0
    control_outage_seconds: float = 2.0
    # Seed for the garbage and corruption bytes.
    seed: int = 0

    @staticmethod
    def hits(every: int, index: int) -> bool:
        return every > 0 and index % every == 0

    def describe(self) -> str:
        """The fields that differ from the defaults, e.g. ``drop_every=3``; empty if none."""
        default = Faults()
        return ", ".join(
            f"{f.name}={getattr(self, f.name)}"
            for f in fields(self)
            if getattr(self, f.name) != getattr(default, f.name)
        )


@dataclass(frozen=True)
class ControlRecord:
    """One request the control server read, for tests and diagnostics."""

    at: float  # time.monotonic() when it was read
    path: str
    query: str | None
    status: int | None  # None: reset without an answer


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


# --------------------------------------------------------------------------- the sensor

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


def query_value(query: str, key: str, size: int = 32) -> str | None:
    """``httpd_query_key_value``: the value of ``key`` or None if absent or too long.

    Mirrors esp_http_server: keys match case-insensitively, values are not
    URL-decoded, a value that does not fit ``size`` bytes (with its NUL) is
    an error like an absent one.
    """
    pos = 0
    while pos < len(query):
        eq = query.find("=", pos)
        if eq < 0:
            return None
        name = query[pos:eq]
        if len(name) != len(key) or name.lower() != key.lower():
            amp = query.find("&", eq)
            if amp < 0:
                return None
            pos = amp + 1
            continue
        amp = query.find("&", eq + 1)
        value = query[eq + 1 :] if amp < 0 else query[eq + 1 : amp]
        return value if len(value) + 1 <= size else None
    return None


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


# --------------------------------------------------------------------------- the scene


@dataclass(frozen=True)
class RenderSettings:
    """What the renderer needs from the sensor state: an immutable snapshot."""

    width: int = 800
    height: int = 600
    jpeg_quality: int = 84
    hmirror: bool = False
    vflip: bool = False
    special_effect: int = 0
    brightness: int = 0
    contrast: int = 0
    saturation: int = 0
    colorbar: bool = False


# BT.601 luma weights in BGR order, and per-effect tints (B, G, R) applied to luma.
_LUMA_BGR = np.array([0.114, 0.587, 0.299], dtype=np.float32)
_LUMA_BGR.flags.writeable = False
_TINTS: MappingProxyType[int, tuple[float, float, float]] = MappingProxyType(
    {
        3: (0.75, 0.75, 1.25),  # red tint
        4: (0.75, 1.2, 0.75),  # green tint
        5: (1.25, 0.8, 0.75),  # blue tint
        6: (0.70, 0.95, 1.15),  # sepia
    }
)


class SceneRenderer:
    """Draws the simulated camera's view and encodes it. Safe to call from threads.

    The static background is drawn once per size; each frame copies it, adds
    the moving parts (a ball sliding across, a sweeping hand), the clock and
    frame counter as text, applies the sensor effects, then stamps the frame
    code on top so that effects never disturb it.
    """

    def __init__(self, seed: int = 1) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self._backgrounds: dict[tuple[int, int], np.ndarray] = {}
        self._colorbars: dict[tuple[int, int], np.ndarray] = {}

    def render(self, settings: RenderSettings, send_wall: float, counter: int) -> bytes:
        """One JPEG of the scene at wall-clock time ``send_wall``."""
        img = self.image(settings, send_wall, counter)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, settings.jpeg_quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        return buf.tobytes()

    def render_bmp(self, settings: RenderSettings, send_wall: float, counter: int) -> bytes:
        img = self.image(settings, send_wall, counter)
        ok, buf = cv2.imencode(".bmp", img)
        if not ok:
            raise RuntimeError("BMP encoding failed")
        return buf.tobytes()

    def image(self, settings: RenderSettings, send_wall: float, counter: int) -> np.ndarray:
        """The BGR frame before encoding."""
        w, h = settings.width, settings.height
        if settings.colorbar:
            img = self._colorbar(w, h).copy()
        else:
            img = self._background(w, h).copy()
            self._draw_dynamic(img, send_wall, counter, settings)
            if settings.hmirror and settings.vflip:
                img = cv2.flip(img, -1)
            elif settings.hmirror:
                img = cv2.flip(img, 1)
            elif settings.vflip:
                img = cv2.flip(img, 0)
            img = _apply_tone(img, settings)
            img = _apply_effect(img, settings.special_effect)
        framecode.draw_code(img, int(send_wall * 1000) % framecode.TIME_MODULO, counter)
        return img

    def warm(self, width: int, height: int) -> None:
        """Draw the static parts for this size now, so no frame waits for them."""
        self._background(width, height)

    def _background(self, w: int, h: int) -> np.ndarray:
        with self._lock:
            bg = self._backgrounds.get((w, h))
            if bg is None:
                bg = _draw_background(w, h, self._seed)
                self._backgrounds[(w, h)] = bg
            return bg

    def _colorbar(self, w: int, h: int) -> np.ndarray:
        with self._lock:
            img = self._colorbars.get((w, h))
            if img is None:
                img = _draw_colorbar(w, h)
                self._colorbars[(w, h)] = img
            return img

    @staticmethod
    def _draw_dynamic(
        img: np.ndarray, send_wall: float, counter: int, settings: RenderSettings
    ) -> None:
        h, w = img.shape[:2]
        # A ball sliding across and back every 4 s: consecutive frames always differ.
        r = max(4, h // 10)
        phase = (send_wall % 4.0) / 4.0
        tri = 2 * phase if phase < 0.5 else 2 - 2 * phase
        cx = int(r + (w - 2 * r) * tri)
        cv2.circle(img, (cx, int(h * 0.62)), r, (30, 40, 220), -1, cv2.LINE_AA)
        cv2.circle(img, (cx - r // 3, int(h * 0.62) - r // 3), max(1, r // 4), (200, 220, 255), -1)
        # A hand sweeping once a second, to judge smoothness at a glance.
        dial_r = max(6, h // 9)
        dial = (w - dial_r - max(4, w // 40), framecode.block_height(w) + dial_r + h // 12)
        angle = (send_wall % 1.0) * 2 * math.pi
        tip = (
            int(dial[0] + dial_r * math.sin(angle)),
            int(dial[1] - dial_r * math.cos(angle)),
        )
        cv2.line(img, dial, tip, (20, 20, 20), max(1, w // 200), cv2.LINE_AA)
        # Clock of the send moment and the frame counter.
        lt = time.localtime(send_wall)
        ms = int(send_wall * 1000) % 1000
        clock = f"{lt.tm_hour:02d}:{lt.tm_min:02d}:{lt.tm_sec:02d}.{ms:03d}"
        label = f"#{counter}  {w}x{h}  q{settings.jpeg_quality}"
        scale = w / 640
        thick = max(1, round(w / 400))
        top = framecode.block_height(w) + max(4, h // 40)
        line1 = top + int(32 * scale)
        line2 = line1 + int(30 * scale)
        for text, y, s in ((clock, line1, 1.1 * scale), (label, line2, 0.75 * scale)):
            org = (max(2, w // 40), y)
            cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, s, (0, 0, 0), thick + 2)
            cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, s, (255, 255, 255), thick)


def _draw_background(w: int, h: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    xs = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :]
    ys = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    img = np.empty((h, w, 3), np.float32)
    img[..., 0] = 150 - 60 * ys + 20 * xs  # B
    img[..., 1] = 120 - 30 * ys + 30 * xs  # G
    img[..., 2] = 90 + 40 * ys - 20 * xs  # R
    # Soft blotches, like uneven light on a wall.
    small = rng.normal(0, 1, (max(2, h // 40), max(2, w // 40))).astype(np.float32)
    blotch = cv2.resize(cv2.GaussianBlur(small, (0, 0), 1.0), (w, h), interpolation=cv2.INTER_CUBIC)
    img += (blotch * 14)[..., None]
    img = np.clip(img, 0, 255).astype(np.uint8)
    # A floor, a few objects and a grid: edges give the encoder realistic work.
    floor_y = int(h * 0.78)
    img[floor_y:] = (70, 90, 110)
    tile = max(8, w // 16)
    for x in range(0, w, tile):
        for y in range(floor_y, h, max(4, tile // 2)):
            if (x // tile + y // max(4, tile // 2)) % 2:
                img[y : y + max(4, tile // 2), x : x + tile] = (95, 115, 135)
    for x in range(0, w, max(8, w // 12)):
        cv2.line(img, (x, 0), (x, floor_y), (170, 165, 160), 1)
    objects = [
        (0.08, 0.30, 0.20, 0.70, (40, 120, 200)),
        (0.30, 0.40, 0.42, 0.76, (160, 80, 40)),
        (0.62, 0.48, 0.80, 0.77, (60, 160, 90)),
    ]
    for x0, y0, x1, y1, colour in objects:
        cv2.rectangle(
            img, (int(x0 * w), int(y0 * h)), (int(x1 * w), int(y1 * h)), colour, -1, cv2.LINE_AA
        )
    scale = w / 640
    cv2.putText(
        img,
        "ESP32-CAM simulator",
        (max(2, w // 40), int(h * 0.95)),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.7 * scale,
        (230, 230, 230),
        max(1, round(w / 600)),
        cv2.LINE_AA,
    )
    return img


def _draw_colorbar(w: int, h: int) -> np.ndarray:
    # The sensor's test pattern: eight vertical bars.
    colours = [
        (255, 255, 255),
        (0, 255, 255),
        (255, 255, 0),
        (0, 255, 0),
        (255, 0, 255),
        (0, 0, 255),
        (255, 0, 0),
        (0, 0, 0),
    ]
    img = np.empty((h, w, 3), np.uint8)
    for i, colour in enumerate(colours):
        img[:, i * w // 8 : (i + 1) * w // 8] = colour
    return img


def _apply_tone(img: np.ndarray, s: RenderSettings) -> np.ndarray:
    if s.contrast:
        alpha = 1.0 + 0.25 * s.contrast
        img = cv2.convertScaleAbs(img, alpha=alpha, beta=128 * (1 - alpha))
    if s.brightness:
        img = cv2.convertScaleAbs(img, alpha=1.0, beta=30 * s.brightness)
    if s.saturation:
        gray = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        k = 0.35 * s.saturation
        img = cv2.addWeighted(img, 1 + k, gray, -k, 0)
    return img


def _apply_effect(img: np.ndarray, effect: int) -> np.ndarray:
    if effect == 1:
        return cv2.bitwise_not(img)
    if effect == 2:
        return cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    tint = _TINTS.get(effect)
    if tint is not None:
        matrix = np.outer(np.array(tint, np.float32), _LUMA_BGR)
        return cv2.transform(img, matrix)
    return img


# ------------------------------------------------------------------- HTTP, as esp_http_server

BOUNDARY = "123456789000000000000987654321"
STREAM_CONTENT_TYPE = f"multipart/x-mixed-replace;boundary={BOUNDARY}"
STREAM_BOUNDARY = f"\r\n--{BOUNDARY}\r\n".encode()
STREAM_PART = "Content-Type: image/jpeg\r\nContent-Length: {}\r\nX-Timestamp: {}\r\n\r\n"
LEGACY_STREAM_PART = "Content-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n"
HTTPD_TYPE_TEXT = "text/html"

# httpd_resp_send_err: status line and body of each error.
HTTP_ERRORS: MappingProxyType[int, tuple[str, str]] = MappingProxyType(
    {
        400: ("400 Bad Request", "Bad request syntax"),
        404: ("404 Not Found", "Nothing matches the given URI"),
        405: ("405 Method Not Allowed", "Specified method is invalid for this resource"),
        414: ("414 URI Too Long", "URI is too long"),
        431: ("431 Request Header Fields Too Large", "Header fields are too long"),
        500: ("500 Internal Server Error", "Server has encountered an unexpected error"),
        505: ("505 Version Not Supported", "HTTP version not supported by server"),
    }
)

MAX_URI_LEN = 512  # CONFIG_HTTPD_MAX_URI_LEN
MAX_REQ_HDR_LEN = 1024  # CONFIG_HTTPD_MAX_REQ_HDR_LEN
MAX_BODY = 64 * 1024  # GET bodies are read and ignored up to this size


def http_response(
    status: str, content_type: str, body: bytes, headers: Sequence[tuple[str, str]] = ()
) -> bytes:
    """``httpd_resp_send``: essential headers, then those set by the handler."""
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode("latin-1") + body


def http_error(code: int) -> bytes:
    """``httpd_resp_send_err`` with its default message."""
    status, message = HTTP_ERRORS[code]
    return http_response(status, HTTPD_TYPE_TEXT, message.encode())


def chunked_head(
    status: str | None, content_type: str, headers: Sequence[tuple[str, str]] = ()
) -> bytes:
    """The header block ``httpd_resp_send_chunk`` sends before the first chunk.

    ``status`` None leaves out the status line, as some old builds did.
    """
    head = "" if status is None else f"HTTP/1.1 {status}\r\n"
    head += f"Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode("latin-1")


def chunk(data: bytes) -> bytes:
    """One HTTP chunk as ``httpd_resp_send_chunk`` writes it."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def x_timestamp(wall: float) -> str:
    sec = int(wall)
    return f"{sec}.{int((wall - sec) * 1_000_000):06d}"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str | None
    headers: dict[str, str]


class HttpError(Exception):
    """A request the server answers with an error and a closed socket."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """Read one request; None on a clean EOF before it. Raises HttpError if malformed."""
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise HttpError(400) from exc
    except asyncio.LimitOverrunError as exc:
        raise HttpError(414) from exc
    parts = line.decode("latin-1").strip("\r\n").split(" ")
    if len(parts) != 3 or not parts[0] or not parts[1].startswith("/"):
        raise HttpError(400)
    method, target, version = parts
    match = re.fullmatch(r"HTTP/(\d+)\.(\d+)", version)
    if match is None or not method.isalpha():
        raise HttpError(400)
    # esp_http_server's own test: it refuses a version only when neither digit is 1.
    if int(match.group(1)) != 1 and int(match.group(2)) != 1:
        raise HttpError(505)
    if len(target) > MAX_URI_LEN:
        raise HttpError(414)
    headers: dict[str, str] = {}
    total = 0
    while True:
        try:
            hline = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            raise HttpError(400) from exc
        except asyncio.LimitOverrunError as exc:
            raise HttpError(431) from exc
        total += len(hline)
        if total > MAX_REQ_HDR_LEN:
            raise HttpError(431)
        text = hline.decode("latin-1").rstrip("\r\n")
        if not text:
            break
        name, sep, value = text.partition(":")
        if not sep or not name.strip():
            raise HttpError(400)
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError as exc:
            raise HttpError(400) from exc
        if not 0 <= length <= MAX_BODY:
            raise HttpError(400)
        try:
            await reader.readexactly(length)
        except asyncio.IncompleteReadError as exc:
            raise HttpError(400) from exc
    path, qmark, query = target.partition("?")
    query = query.partition("#")[0]
    return Request(method, path, query if qmark else None, headers)


@dataclass
class Response:
    data: bytes
    keep_open: bool = True


# --------------------------------------------------------------------------- the camera


class SimulatedCamera:
    """An ESP32-CAM running the stock CameraWebServer sketch, on two local ports."""

    def __init__(self, options: SimulatorOptions | None = None) -> None:
        self.options = options or SimulatorOptions()
        if self.options.fps <= 0:
            raise ValueError("fps must be positive")
        self._sensor = SensorState(self.options)
        self._renderer = SceneRenderer()
        self._rng = random.Random(self.options.faults.seed)
        self._executor: ThreadPoolExecutor | None = None
        self._control_server: asyncio.Server | None = None
        self._stream_server: asyncio.Server | None = None
        self._control_port = self.options.control_port
        self._stream_port = self.options.stream_port
        self._conn_tasks: set[asyncio.Task[Any]] = set()
        self._conn_writers: dict[asyncio.Task[Any], asyncio.StreamWriter] = {}
        self._bg_tasks: set[asyncio.Task[Any]] = set()
        self._stream_slot = asyncio.Lock()
        self._stream_waiting = 0
        self._control_lock = asyncio.Lock()
        self._control_conn_tasks: set[asyncio.Task[Any]] = set()
        self._control_down = False
        self._running = False
        self._down = False
        self._counter = 0
        self._render_lead = 0.008  # seconds rendering is started ahead of a send
        # Counters.
        self.frames_sent = 0
        self.stream_clients_served = 0
        self.stream_clients_waited = 0
        self.stream_clients_refused = 0
        self.control_requests = 0
        self.control_commands = 0  # /control requests among them
        self.control_log: deque[ControlRecord] = deque(maxlen=100_000)
        self.control_outages = 0
        self.reboots = 0
        self.render_count = 0
        self.render_seconds_total = 0.0
        self.render_seconds_max = 0.0

    # ---- public

    async def start(self) -> None:
        if self._running:
            return
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="esp32-sim")
        try:
            await self._listen()
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise
        self._running = True
        if self.options.faults.refuse_first_seconds > 0:
            # Still booting: the ports are known, connections are refused for a while.
            self._down = True
            self._close_servers()
            self._spawn(self._boot_late(self.options.faults.refuse_first_seconds))
        await self._warm()

    async def stop(self) -> None:
        """Close the servers, every connection and task, and the render threads."""
        self._running = False
        self._close_servers()
        me = asyncio.current_task()
        tasks = [t for t in (*self._conn_tasks, *self._bg_tasks) if t is not me]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for server in (self._control_server, self._stream_server):
            if server is not None:
                await server.wait_closed()
        self._control_server = self._stream_server = None
        if self._executor is not None:
            executor, self._executor = self._executor, None
            await asyncio.get_running_loop().run_in_executor(None, executor.shutdown)

    async def __aenter__(self) -> SimulatedCamera:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def control_port(self) -> int:
        return self._control_port

    @property
    def stream_port(self) -> int:
        return self._stream_port

    @property
    def control_url(self) -> str:
        return f"http://{self._url_host()}:{self._control_port}"

    @property
    def stream_url(self) -> str:
        return f"http://{self._url_host()}:{self._stream_port}/stream"

    @property
    def frame_size(self) -> tuple[int, int]:
        return self._sensor.frame_size

    @property
    def render_ms_mean(self) -> float:
        return 1000 * self.render_seconds_total / self.render_count if self.render_count else 0.0

    def status(self) -> dict[str, int]:
        """The /status object, keys in the board's order."""
        return self._sensor.status()

    def control(self, var: str, value: str) -> int:
        """Apply ``/control?var=&val=`` in process; returns the HTTP status."""
        return 200 if self._sensor.set(var, c_atoi(value)) else 500

    async def reboot(self, down_seconds: float) -> None:
        """Brownout: drop every connection, refuse new ones, come back with defaults."""
        if not self._running or self._down:
            return
        self._down = True
        self.reboots += 1
        try:
            self._close_servers()
            me = asyncio.current_task()
            tasks = [t for t in self._conn_tasks if t is not me]
            for task in tasks:
                self._abort_writer(task)
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._sensor = SensorState(self.options)
            await self._come_back(down_seconds)
        finally:
            self._down = False

    @property
    def is_up(self) -> bool:
        """Accepting connections (not stopped, not rebooting)."""
        return self._running and not self._down

    async def _come_back(self, down_seconds: float) -> None:
        await asyncio.sleep(down_seconds)
        if self._running:
            await self._listen()

    async def _boot_late(self, down_seconds: float) -> None:
        try:
            await self._come_back(down_seconds)
        finally:
            self._down = False

    # ---- servers and connections

    async def _listen(self) -> None:
        host = self.options.host
        self._control_server = await asyncio.start_server(
            self._on_control, host, self._control_port, limit=8192
        )
        try:
            self._stream_server = await asyncio.start_server(
                self._on_stream, host, self._stream_port, limit=8192
            )
        except BaseException:
            self._control_server.close()
            raise
        self._control_port = self._control_server.sockets[0].getsockname()[1]
        self._stream_port = self._stream_server.sockets[0].getsockname()[1]

    def _close_servers(self) -> None:
        for server in (self._control_server, self._stream_server):
            if server is not None:
                server.close()

    def _url_host(self) -> str:
        host = self.options.host
        if host in ("", "0.0.0.0", "::"):
            return "127.0.0.1"
        return f"[{host}]" if ":" in host else host

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._bg_tasks.add(task)
        task.add_done_callback(self._bg_tasks.discard)

    def _abort_writer(self, task: asyncio.Task[Any]) -> None:
        writer = self._conn_writers.get(task)
        if writer is not None:
            _reset(writer)

    async def _connection(
        self,
        writer: asyncio.StreamWriter,
        serve: Callable[[], Awaitable[None]],
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conn_tasks.add(task)
        self._conn_writers[task] = writer
        try:
            # Cancelled only by stop() or reboot(). Ending normally matters: on Python
            # 3.11 asyncio's stream callback logs an error for a cancelled handler task.
            with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
                await serve()
        finally:
            self._conn_tasks.discard(task)
            self._conn_writers.pop(task, None)
            if self._running:
                writer.close()  # FIN once the (already drained) buffer is out
            else:
                writer.transport.abort()  # stopping: nothing may linger

    async def _on_control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def serve() -> None:
            while True:
                try:
                    request = await read_request(reader)
                except HttpError as err:
                    writer.write(http_error(err.code))
                    await writer.drain()
                    return
                if request is None:
                    return
                response = await self._control_request(request)
                if response is None:
                    _reset(writer)
                    return
                writer.write(response.data)
                await writer.drain()
                if (
                    not response.keep_open
                    or request.headers.get("connection", "").lower() == "close"
                ):
                    return

        task = asyncio.current_task()
        assert task is not None
        self._control_conn_tasks.add(task)
        try:
            await self._connection(writer, serve)
        finally:
            self._control_conn_tasks.discard(task)

    async def _control_request(self, request: Request) -> Response | None:
        """Serve one control-server request with its faults; None: reset instead of answering."""
        self.control_requests += 1
        faults = self.options.faults
        command = request.path == "/control"
        if command:
            self.control_commands += 1
        record = ControlRecord(time.monotonic(), request.path, request.query, None)
        if Faults.hits(faults.control_reset_every, self.control_requests):
            self.control_log.append(record)
            return None
        if command and Faults.hits(faults.control_outage_every, self.control_commands):
            self.control_log.append(record)
            self._spawn(self.control_outage(faults.control_outage_seconds))
            return None
        async with self._control_lock:  # the board's httpd: one request at a time
            if command and Faults.hits(faults.control_delay_every, self.control_commands):
                await asyncio.sleep(faults.control_delay_seconds)
            if command and Faults.hits(faults.control_500_every, self.control_commands):
                response = Response(http_error(500))
            else:
                response = await self._handle_control(request)
        self.control_log.append(replace(record, status=int(response.data[9:12])))
        return response

    async def control_outage(self, seconds: float) -> None:
        """The control server drops its connections and refuses new ones for ``seconds``.

        The stream and the sensor settings are untouched, as when WiFi drops only the
        control requests of a busy board.
        """
        if not self.is_up or self._control_down:
            return
        self._control_down = True
        self.control_outages += 1
        try:
            if self._control_server is not None:
                self._control_server.close()
            me = asyncio.current_task()
            tasks = [t for t in self._control_conn_tasks if t is not me]
            for task in tasks:
                self._abort_writer(task)
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.sleep(seconds)
            server = self._control_server
            # A reboot meanwhile has already opened a new control server.
            if self.is_up and (server is None or not server.is_serving()):
                self._control_server = await asyncio.start_server(
                    self._on_control, self.options.host, self._control_port, limit=8192
                )
        finally:
            self._control_down = False

    @property
    def control_is_up(self) -> bool:
        """The control server accepts connections."""
        return self.is_up and not self._control_down

    async def _on_stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def serve() -> None:
            try:
                request = await read_request(reader)
            except HttpError as err:
                writer.write(http_error(err.code))
                await writer.drain()
                return
            if request is None:
                return
            if self._stream_slot.locked():
                # The board's httpd is stuck in the stream handler: whatever this client
                # asked waits in the listen backlog, or is reset when the backlog is full.
                if self._stream_waiting >= self.options.stream_backlog:
                    self.stream_clients_refused += 1
                    _reset(writer)
                    return
                self.stream_clients_waited += 1
            self._stream_waiting += 1
            try:
                await self._stream_slot.acquire()
            finally:
                self._stream_waiting -= 1
            try:
                if request.path != "/stream":
                    writer.write(http_error(404))
                elif request.method != "GET":
                    writer.write(http_error(405))
                else:
                    self.stream_clients_served += 1
                    await self._stream(writer)
                    return
                await writer.drain()
            finally:
                self._stream_slot.release()

        await self._connection(writer, serve)

    # ---- the stream

    async def _stream(self, writer: asyncio.StreamWriter) -> None:
        opts = self.options
        faults = opts.faults
        loop = asyncio.get_running_loop()
        if faults.stream_http_500:
            writer.write(http_error(500))
            await writer.drain()
            return
        head = chunked_head(
            None if opts.no_status_line else "200 OK",
            STREAM_CONTENT_TYPE,
            (("Access-Control-Allow-Origin", "*"), ("X-Framerate", "60")),
        )
        period = 1.0 / opts.fps
        next_send = loop.time() + self._render_lead
        index = 0
        while True:
            index += 1
            faults = opts.faults  # consulted per frame: faults can be switched while streaming
            if Faults.hits(faults.stall_every, index):
                await asyncio.sleep(faults.stall_seconds)
                now = loop.time()
                if next_send < now:
                    next_send += period * math.ceil((now - next_send) / period)
            # Start rendering just early enough that the frame is ready at its send
            # moment, and stamp it with that moment.
            delay = next_send - self._render_lead - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            send_wall = time.time() + max(0.0, next_send - loop.time())
            jpeg = await self._render(send_wall, stream=True)
            delay = next_send - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            data, drop = self._frame_bytes(jpeg, send_wall, index, faults)
            if head:
                data, head = head + data, b""
            await self._send(writer, data, faults.drip_bytes_per_second)
            if drop:
                # FIN after the half frame: a reset would let the kernel discard
                # whatever the client has not read yet, and the cut would land anywhere.
                return
            self.frames_sent += 1
            if Faults.hits(faults.reboot_every, index):
                self._spawn(self.reboot(faults.reboot_seconds))
                return
            # Send times stay on one grid (no drift). After falling behind (slow client,
            # busy machine) skip to the next slot on it: late frames are dropped, never
            # sent in a burst.
            next_send += period
            now = loop.time()
            if next_send < now:
                next_send += period * math.ceil((now - next_send) / period)

    def _frame_bytes(
        self, jpeg: bytes, send_wall: float, index: int, faults: Faults
    ) -> tuple[bytes, bool]:
        """The chunks of one frame, with this frame's faults applied; and whether to drop."""
        if Faults.hits(faults.corrupt_every, index):
            jpeg = corrupt_jpeg(jpeg, self._rng)
        if Faults.hits(faults.truncate_every, index):
            jpeg = jpeg[: max(4, len(jpeg) * 2 // 3)]
        length = len(jpeg)
        if Faults.hits(faults.mislength_every, index):
            hit = index // faults.mislength_every
            length += faults.mislength_bytes if hit % 2 else -faults.mislength_bytes
            length = max(0, length)
        out = []
        if Faults.hits(faults.garbage_every, index):
            out.append(chunk(self._rng.randbytes(max(1, faults.garbage_bytes))))
        if self.options.legacy_stream_format:
            out.append(chunk(LEGACY_STREAM_PART.format(length).encode()))
        else:
            out.append(chunk(STREAM_BOUNDARY))
            out.append(chunk(STREAM_PART.format(length, x_timestamp(send_wall)).encode()))
        if Faults.hits(faults.drop_every, index):
            # The chunk announces the whole JPEG; the connection dies halfway through it.
            out.append(f"{len(jpeg):x}\r\n".encode() + jpeg[: len(jpeg) // 2])
            return b"".join(out), True
        out.append(chunk(jpeg))
        if self.options.legacy_stream_format:
            out.append(chunk(STREAM_BOUNDARY))
        return b"".join(out), False

    async def _send(self, writer: asyncio.StreamWriter, data: bytes, rate: int) -> None:
        if writer.transport.is_closing():
            raise ConnectionResetError("client went away")
        if rate <= 0:
            writer.write(data)
            await writer.drain()
            return
        step = max(1, rate // 50)  # 50 small writes a second
        for pos in range(0, len(data), step):
            if self.options.faults.drip_bytes_per_second <= 0:
                # The drip was switched off mid-frame: the rest goes out at once.
                writer.write(data[pos:])
                await writer.drain()
                return
            writer.write(data[pos : pos + step])
            await writer.drain()
            await asyncio.sleep(step / rate)

    async def _warm(self) -> None:
        if self._executor is not None:
            w, h = self._sensor.frame_size
            await asyncio.get_running_loop().run_in_executor(
                self._executor, self._renderer.warm, w, h
            )

    async def _render(self, send_wall: float, *, stream: bool = False, bmp: bool = False) -> bytes:
        executor = self._executor
        if executor is None:
            raise ConnectionResetError("simulator stopped")
        settings = self._sensor.render_settings()
        # Stream frames are numbered consecutively, so a gap at the far end is a drop;
        # /capture and /bmp show the number of the last stream frame.
        counter = self._counter
        if stream:
            self._counter += 1
        fn = self._renderer.render_bmp if bmp else self._renderer.render
        t0 = time.perf_counter()
        data = await asyncio.get_running_loop().run_in_executor(
            executor, fn, settings, send_wall, counter
        )
        took = time.perf_counter() - t0
        self.render_count += 1
        self.render_seconds_total += took
        self.render_seconds_max = max(self.render_seconds_max, took)
        # Keep the lead a little above recent render times.
        self._render_lead = 0.9 * self._render_lead + 0.1 * (1.5 * took + 0.002)
        return data

    # ---- the control server

    async def _handle_control(self, request: Request) -> Response:
        routes: dict[str, Callable[[Request], Awaitable[Response]]] = {
            "/": self._index,
            "/status": self._status,
            "/control": self._cmd,
            "/capture": self._capture,
            "/bmp": self._bmp,
            "/xclk": self._xclk,
            "/reg": self._reg,
            "/greg": self._greg,
            "/pll": self._accept_expert,
            "/resolution": self._accept_expert,
        }
        handler = routes.get(request.path)
        if handler is None:
            return Response(http_error(404), keep_open=False)
        if request.method != "GET":
            return Response(http_error(405), keep_open=False)
        return await handler(request)

    async def _index(self, request: Request) -> Response:
        page = _INDEX_HTML.replace("{stream_port}", str(self._stream_port))
        body = gzip.compress(page.encode(), mtime=0)
        return Response(http_response("200 OK", "text/html", body, (("Content-Encoding", "gzip"),)))

    async def _status(self, request: Request) -> Response:
        body = json.dumps(self.status(), separators=(",", ":")).encode()
        return Response(
            http_response(
                "200 OK", "application/json", body, (("Access-Control-Allow-Origin", "*"),)
            )
        )

    async def _cmd(self, request: Request) -> Response:
        if not request.query:
            return Response(http_error(404), keep_open=False)
        var = query_value(request.query, "var")
        val = query_value(request.query, "val")
        if var is None or val is None:
            return Response(http_error(404), keep_open=False)
        if self.control(var, val) != 200:
            return Response(http_error(500))  # the sketch returns ESP_OK: socket stays
        if var == "framesize":
            await self._warm()  # the sensor, too, takes a moment to switch sizes
        return _ok_empty()

    async def _capture(self, request: Request) -> Response:
        if self.options.led_illuminator and self.options.capture_led_delay > 0:
            await asyncio.sleep(self.options.capture_led_delay)
        wall = time.time()
        jpeg = await self._render(wall)
        headers = (
            ("Content-Disposition", "inline; filename=capture.jpg"),
            ("Access-Control-Allow-Origin", "*"),
            ("X-Timestamp", x_timestamp(wall)),
        )
        return Response(http_response("200 OK", "image/jpeg", jpeg, headers))

    async def _bmp(self, request: Request) -> Response:
        wall = time.time()
        bmp = await self._render(wall, bmp=True)
        headers = (
            ("Content-Disposition", "inline; filename=capture.bmp"),
            ("Access-Control-Allow-Origin", "*"),
            ("X-Timestamp", x_timestamp(wall)),
        )
        return Response(http_response("200 OK", "image/x-windows-bmp", bmp, headers))

    async def _xclk(self, request: Request) -> Response:
        xclk = query_value(request.query or "", "xclk")
        if not request.query or xclk is None:
            return Response(http_error(404), keep_open=False)
        self._sensor.values["xclk"] = c_atoi(xclk) & 0xFFFFFFFF
        return _ok_empty()

    async def _reg(self, request: Request) -> Response:
        q = request.query or ""
        reg, mask, val = (query_value(q, k) for k in ("reg", "mask", "val"))
        if not q or reg is None or mask is None or val is None:
            return Response(http_error(404), keep_open=False)
        r, m = c_atoi(reg), c_atoi(mask)
        old = self._sensor.registers.get(r, 0)
        self._sensor.registers[r] = (old & ~m) | (c_atoi(val) & m)
        return _ok_empty()

    async def _greg(self, request: Request) -> Response:
        q = request.query or ""
        reg, mask = (query_value(q, k) for k in ("reg", "mask"))
        if not q or reg is None or mask is None:
            return Response(http_error(404), keep_open=False)
        value = self._sensor.registers.get(c_atoi(reg), 0) & c_atoi(mask)
        return Response(
            http_response(
                "200 OK",
                HTTPD_TYPE_TEXT,
                str(value).encode(),
                (("Access-Control-Allow-Origin", "*"),),
            )
        )

    async def _accept_expert(self, request: Request) -> Response:
        # /pll and /resolution: accepted and ignored; the scene keeps its size.
        if not request.query:
            return Response(http_error(404), keep_open=False)
        return _ok_empty()


def _ok_empty() -> Response:
    return Response(
        http_response("200 OK", HTTPD_TYPE_TEXT, b"", (("Access-Control-Allow-Origin", "*"),))
    )


def corrupt_jpeg(jpeg: bytes, rng: random.Random, count: int = 24) -> bytes:
    """Overwrite bytes of the entropy-coded data, never creating or breaking a marker."""
    sos = jpeg.find(b"\xff\xda")
    if sos < 0 or len(jpeg) < sos + 16:
        return jpeg
    start = sos + 2 + int.from_bytes(jpeg[sos + 2 : sos + 4], "big")
    end = len(jpeg) - 2  # keep EOI
    if end - start < 4:
        return jpeg
    data = bytearray(jpeg)
    for _ in range(count):
        pos = rng.randrange(start + 1, end - 1)
        if data[pos] == 0xFF or data[pos - 1] == 0xFF:
            continue
        data[pos] = rng.randrange(0, 0xFF)  # never 0xFF: no new marker
    return bytes(data)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST, the way a board that reboots or crashes leaves."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
    writer.transport.abort()


_INDEX_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>ESP32-CAM simulator</title>
<style>body{font-family:sans-serif;background:#222;color:#eee;margin:1em}
img{max-width:100%;display:block;margin-top:1em}a{color:#8cf}</style></head>
<body><h1>ESP32-CAM simulator</h1>
<p>CameraWebServer wire protocol: <a href="/status">/status</a>,
<a href="/capture">/capture</a>, /control?var=framesize&amp;val=6.</p>
<img id="stream" alt="stream">
<script>
document.getElementById('stream').src =
  location.protocol + '//' + location.hostname + ':{stream_port}/stream';
</script>
</body></html>
"""


# --------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``esp32-relay simulate``."""
    d = SimulatorOptions()
    f = Faults()
    parser.add_argument("--host", default=d.host, help=f"address to listen on (default {d.host})")
    parser.add_argument(
        "--port", type=int, default=d.control_port, help="control server port (default 80; 0: any)"
    )
    parser.add_argument(
        "--stream-port", type=int, help="stream server port (default: --port + 1, as the sketch)"
    )
    parser.add_argument("--fps", type=float, default=d.fps, help=f"frame rate (default {d.fps:g})")
    parser.add_argument(
        "--framesize",
        help="framesize enum value or name, e.g. 11 or SVGA (default SVGA, 800x600)",
    )
    parser.add_argument(
        "--quality", type=int, default=d.quality, help="JPEG quantizer 4..63, lower is better"
    )
    parser.add_argument(
        "--legacy-framesize-enum",
        action="store_true",
        help="use the framesize numbers of esp32-camera before November 2024",
    )
    parser.add_argument(
        "--legacy-stream-format",
        action="store_true",
        help="old sketches: part header and JPEG first, boundary after, no X-Timestamp",
    )
    parser.add_argument(
        "--no-status-line", action="store_true", help="answer /stream without the status line"
    )
    parser.add_argument(
        "--no-led", action="store_true", help="a build without the flash LED (led_intensity -1)"
    )
    g = parser.add_argument_group("faults (N counts frames on a stream connection; 0 is off)")
    g.add_argument("--drop-every", type=int, default=0, metavar="N", help="reset mid-JPEG")
    g.add_argument("--stall-every", type=int, default=0, metavar="N", help="stall the stream")
    g.add_argument(
        "--stall-seconds", type=float, default=f.stall_seconds, metavar="S", help="stall length"
    )
    g.add_argument(
        "--garbage-every", type=int, default=0, metavar="N", help="junk bytes between parts"
    )
    g.add_argument("--garbage-bytes", type=int, default=f.garbage_bytes, metavar="B")
    g.add_argument(
        "--corrupt-every", type=int, default=0, metavar="N", help="corrupt entropy-coded data"
    )
    g.add_argument(
        "--truncate-every", type=int, default=0, metavar="N", help="JPEG without its end"
    )
    g.add_argument(
        "--mislength-every",
        type=int,
        default=0,
        metavar="N",
        help="announce a wrong Content-Length (alternately too long and too short)",
    )
    g.add_argument("--mislength-bytes", type=int, default=f.mislength_bytes, metavar="B")
    g.add_argument(
        "--reboot-every", type=int, default=0, metavar="N", help="drop all, refuse, reset settings"
    )
    g.add_argument(
        "--reboot-seconds", type=float, default=f.reboot_seconds, metavar="S", help="down time"
    )
    g.add_argument(
        "--refuse-first", type=float, default=0.0, metavar="S", help="refuse connections at start"
    )
    g.add_argument("--stream-500", action="store_true", help="answer /stream with HTTP 500")
    g.add_argument(
        "--drip", type=int, default=0, metavar="BYTES_PER_S", help="send the stream this slowly"
    )
    g.add_argument("--seed", type=int, default=0, help="seed for garbage and corruption bytes")
    c = parser.add_argument_group("control server faults (N counts /control requests; 0 is off)")
    c.add_argument(
        "--control-500-every", type=int, default=0, metavar="N", help="answer 500, apply nothing"
    )
    c.add_argument(
        "--control-reset-every",
        type=int,
        default=0,
        metavar="N",
        help="reset every Nth control-server request (any path) without answering",
    )
    c.add_argument("--control-delay-every", type=int, default=0, metavar="N", help="answer late")
    c.add_argument(
        "--control-delay",
        type=float,
        default=f.control_delay_seconds,
        metavar="S",
        help="how late (the control server is busy meanwhile)",
    )
    c.add_argument(
        "--control-outage-every",
        type=int,
        default=0,
        metavar="N",
        help="reset, then refuse control connections for a while",
    )
    c.add_argument(
        "--control-outage-seconds",
        type=float,
        default=f.control_outage_seconds,
        metavar="S",
        help="how long the control server stays away",
    )


def options_from_args(args: argparse.Namespace) -> SimulatorOptions:
    """SimulatorOptions from arguments parsed with :func:`add_arguments`."""
    framesize: int | None = None
    if args.framesize is not None:
        text = str(args.framesize)
        framesize = (
            int(text) if text.isdigit() else framesize_index(text, args.legacy_framesize_enum)
        )
    stream_port = args.stream_port
    if stream_port is None:
        stream_port = args.port + 1 if args.port else 0
    return SimulatorOptions(
        host=args.host,
        control_port=args.port,
        stream_port=stream_port,
        fps=args.fps,
        framesize=framesize,
        quality=args.quality,
        legacy_framesize_enum=args.legacy_framesize_enum,
        legacy_stream_format=args.legacy_stream_format,
        no_status_line=args.no_status_line,
        led_illuminator=not args.no_led,
        faults=Faults(
            drop_every=args.drop_every,
            stall_every=args.stall_every,
            stall_seconds=args.stall_seconds,
            garbage_every=args.garbage_every,
            garbage_bytes=args.garbage_bytes,
            corrupt_every=args.corrupt_every,
            truncate_every=args.truncate_every,
            mislength_every=args.mislength_every,
            mislength_bytes=args.mislength_bytes,
            reboot_every=args.reboot_every,
            reboot_seconds=args.reboot_seconds,
            refuse_first_seconds=args.refuse_first,
            stream_http_500=args.stream_500,
            drip_bytes_per_second=args.drip,
            seed=args.seed,
            control_500_every=args.control_500_every,
            control_reset_every=args.control_reset_every,
            control_delay_every=args.control_delay_every,
            control_delay_seconds=args.control_delay,
            control_outage_every=args.control_outage_every,
            control_outage_seconds=args.control_outage_seconds,
        ),
    )


# --------------------------------------------------------------------------- entry point


async def run_simulator(options: SimulatorOptions | None = None) -> None:
    """Run a simulated camera until cancelled, printing its URLs."""
    camera = SimulatedCamera(options)
    await camera.start()
    try:
        w, h = camera.frame_size
        print(f"Simulated ESP32-CAM, {w}x{h} at {camera.options.fps:g} fps", flush=True)
        print(f"  stream:  {camera.stream_url}", flush=True)
        print(f"  control: {camera.control_url}  (/status, /control, /capture)", flush=True)
        faults = camera.options.faults.describe()
        if faults:
            print(f"  faults:  {faults}", flush=True)
        await asyncio.Event().wait()
    finally:
        await camera.stop()
