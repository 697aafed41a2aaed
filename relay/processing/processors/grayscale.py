"""Black and white: every channel carries the luma."""

from __future__ import annotations

import cv2
import numpy as np

from .base import FrameContext, Processor


class Grayscale(Processor):
    name = "grayscale"
    label = "Grayscale"

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
