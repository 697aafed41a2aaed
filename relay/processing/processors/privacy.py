"""Privacy masks: filled rectangles over parts of the scene nobody may see."""

from __future__ import annotations

import cv2
import numpy as np

from .base import FrameContext, Param, Processor, hex_to_bgr


class PrivacyMask(Processor):
    name = "privacy"
    label = "Privacy masks"
    schema = (
        Param("rects", "rects", [], label="rectangles [x, y, w, h]"),
        Param("color", "color", "#000000"),
    )

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        color = hex_to_bgr(self.params["color"])
        for x, y, w, h in self.params["rects"]:
            cv2.rectangle(frame, (x, y), (x + w - 1, y + h - 1), color, -1)
        return frame
