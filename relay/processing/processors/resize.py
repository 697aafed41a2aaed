"""Scale the picture, e.g. down for viewers on a slow link (the encoder follows the new size)."""

from __future__ import annotations

import cv2
import numpy as np

from .base import FrameContext, Param, Processor

_INTERPOLATION = {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR, "nearest": cv2.INTER_NEAREST}


class Resize(Processor):
    name = "resize"
    label = "Resize"
    schema = (
        Param("width", "int", 640, min=0, max=4096, label="width (0: keep aspect)"),
        Param("height", "int", 0, min=0, max=4096, label="height (0: keep aspect)"),
        Param("interpolation", "choice", "area", options=tuple(_INTERPOLATION)),
    )

    def target(self, width: int, height: int) -> tuple[int, int]:
        w, h = self.params["width"], self.params["height"]
        if w == 0 and h == 0:
            return width, height
        if w == 0:
            w = round(width * h / height)
        elif h == 0:
            h = round(height * w / width)
        return max(2, w), max(2, h)

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        h, w = frame.shape[:2]
        size = self.target(w, h)
        if size == (w, h):
            return frame
        return cv2.resize(frame, size, interpolation=_INTERPOLATION[self.params["interpolation"]])
