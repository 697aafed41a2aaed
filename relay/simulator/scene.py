"""The simulated camera's view: a moving scene with a clock, a counter and the frame code.

Frames are drawn fresh for their send moment and carry the :mod:`relay.video.framecode`
stamp, drawn last so that the sensor's effects never disturb it.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from types import MappingProxyType

import cv2
import numpy as np

from ..video import framecode


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


SCENES = ("camera", "plain")


class SceneRenderer:
    """Draws the simulated camera's view and encodes it. Safe to call from threads.

    The static background is drawn once per size; each frame copies it, adds
    the moving parts (a ball sliding across, a sweeping hand), the clock and
    frame counter as text, applies the sensor effects, then stamps the frame
    code on top so that effects never disturb it.
    """

    def __init__(self, seed: int = 1, scene: str = "camera") -> None:
        if scene not in SCENES:
            raise ValueError(f"scene must be one of {', '.join(SCENES)}, not {scene!r}")
        self._seed = seed
        self._plain = scene == "plain"
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
        elif self._plain:
            img = _plain(w, h, send_wall)
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


def _plain(w: int, h: int, send_wall: float) -> np.ndarray:
    """A flat background and one box crossing it and back every 4 s."""
    img = np.full((h, w, 3), 96, np.uint8)
    side = max(8, h // 6)
    phase = (send_wall % 4.0) / 4.0
    tri = 2 * phase if phase < 0.5 else 2 - 2 * phase
    x = int((w - side) * tri)
    y = (h - side) // 2
    img[y : y + side, x : x + side] = (40, 160, 230)
    return img


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
