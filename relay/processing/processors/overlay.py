"""Text on the picture: the relay's clock, or a fixed caption."""

from __future__ import annotations

import time

import cv2
import numpy as np

from .base import FrameContext, Param, Processor, hex_to_bgr

POSITIONS = ("top-left", "top-right", "bottom-left", "bottom-right")


def draw_text(
    frame: np.ndarray, text: str, position: str, scale: float, color: str, background: bool
) -> None:
    """Draw ``text`` in a corner, sized relative to the frame width (scale 1: 640 px wide)."""
    h, w = frame.shape[:2]
    font = cv2.FONT_HERSHEY_SIMPLEX
    size = 0.8 * scale * w / 640
    thick = max(1, round(2 * scale * w / 640))
    (tw, th), base = cv2.getTextSize(text, font, size, thick)
    margin = max(4, w // 80)
    x = margin if position.endswith("left") else max(0, w - tw - margin)
    y = margin + th if position.startswith("top") else h - margin - base
    if background:
        pad = max(2, thick * 2)
        cv2.rectangle(frame, (x - pad, y - th - pad), (x + tw + pad, y + base + pad), (0, 0, 0), -1)
    cv2.putText(frame, text, (x, y), font, size, hex_to_bgr(color), thick, cv2.LINE_AA)


class Timestamp(Processor):
    name = "timestamp"
    label = "Timestamp"
    schema = (
        Param("format", "str", "%Y-%m-%d %H:%M:%S", label="format (strftime)", max_len=64),
        Param("position", "choice", "bottom-right", options=POSITIONS),
        Param("scale", "float", 1.0, min=0.2, max=5.0),
        Param("color", "color", "#ffffff"),
        Param("background", "bool", True),
    )

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        p = self.params
        text = time.strftime(p["format"], time.localtime(ctx.wall))
        draw_text(frame, text, p["position"], p["scale"], p["color"], p["background"])
        return frame


class Text(Processor):
    name = "text"
    label = "Text"
    schema = (
        Param("text", "str", "ESP32-CAM", max_len=120),
        Param("position", "choice", "top-left", options=POSITIONS),
        Param("scale", "float", 1.0, min=0.2, max=5.0),
        Param("color", "color", "#ffff00"),
        Param("background", "bool", True),
    )

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        p = self.params
        # Hershey fonts draw ASCII only: other characters would show as '?'.
        text = p["text"].encode("ascii", "replace").decode("ascii")
        draw_text(frame, text, p["position"], p["scale"], p["color"], p["background"])
        return frame
