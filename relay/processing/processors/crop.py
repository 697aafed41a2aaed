"""Cut a region out of the frame (the rest is never encoded, so it also saves bandwidth)."""

from __future__ import annotations

import numpy as np

from .base import FrameContext, Param, Processor

_MAX = 16384


class Crop(Processor):
    name = "crop"
    label = "Crop"
    schema = (
        Param("x", "int", 0, min=0, max=_MAX),
        Param("y", "int", 0, min=0, max=_MAX),
        Param("width", "int", 0, min=0, max=_MAX, label="width (0: to the right edge)"),
        Param("height", "int", 0, min=0, max=_MAX, label="height (0: to the bottom)"),
    )

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        h, w = frame.shape[:2]
        p = self.params
        # A region partly outside the frame is clipped; at least 2x2 pixels remain.
        x0, y0 = min(p["x"], w - 2), min(p["y"], h - 2)
        x1 = w if p["width"] == 0 else min(w, x0 + max(2, p["width"]))
        y1 = h if p["height"] == 0 else min(h, y0 + max(2, p["height"]))
        return frame[y0:y1, x0:x1]
