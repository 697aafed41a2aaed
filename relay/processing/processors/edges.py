"""Canny edge detection: white edges on black, or drawn over the picture."""

from __future__ import annotations

import cv2
import numpy as np

from .base import FrameContext, Param, Processor, hex_to_bgr


class Edges(Processor):
    name = "edges"
    label = "Edges"
    schema = (
        Param("low", "int", 60, min=0, max=1000, label="low threshold"),
        Param("high", "int", 150, min=0, max=1000, label="high threshold"),
        Param("overlay", "bool", False, label="draw over the picture"),
        Param("color", "color", "#00ff00"),
    )

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        p = self.params
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        edges = cv2.Canny(gray, p["low"], p["high"])
        if p["overlay"]:
            frame[edges > 0] = hex_to_bgr(p["color"])
            return frame
        return cv2.cvtColor(edges, cv2.COLOR_GRAY2BGR)
