"""Low-light enhancement: contrast-limited adaptive histogram equalization of the lightness."""

from __future__ import annotations

import cv2
import numpy as np

from .base import FrameContext, Param, Processor


class Clahe(Processor):
    name = "clahe"
    label = "Low-light (CLAHE)"
    schema = (
        Param("clip_limit", "float", 2.5, min=0.5, max=20.0, label="clip limit"),
        Param("tiles", "int", 8, min=1, max=32, label="tiles per side"),
    )

    def __init__(self, params: dict[str, object] | None = None) -> None:
        super().__init__(params)
        t = self.params["tiles"]
        self._clahe = cv2.createCLAHE(clipLimit=self.params["clip_limit"], tileGridSize=(t, t))

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        # Equalizing only the luma keeps colours from shifting.
        ycc = cv2.cvtColor(frame, cv2.COLOR_BGR2YCrCb)
        y, cr, cb = cv2.split(ycc)
        return cv2.cvtColor(cv2.merge((self._clahe.apply(y), cr, cb)), cv2.COLOR_YCrCb2BGR)
