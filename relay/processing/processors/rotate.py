"""Rotate by quarter turns, or mirror: for boards mounted sideways or upside down."""

from __future__ import annotations

import cv2
import numpy as np

from .base import FrameContext, Param, Processor

_ROTATIONS = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
_FLIPS = {"horizontal": 1, "vertical": 0, "both": -1}


class Rotate(Processor):
    name = "rotate"
    label = "Rotate"
    schema = (Param("angle", "choice", 180, options=(0, 90, 180, 270), label="angle (clockwise)"),)

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        code = _ROTATIONS.get(self.params["angle"])
        return frame if code is None else cv2.rotate(frame, code)


class Flip(Processor):
    name = "flip"
    label = "Flip"
    schema = (Param("mode", "choice", "horizontal", options=tuple(_FLIPS)),)

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        return cv2.flip(frame, _FLIPS[self.params["mode"]])
