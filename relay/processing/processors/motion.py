"""Motion detection by background subtraction: boxes on the picture and ``motion`` events.

The frame is analysed at a reduced width (``analysis_width``) to keep the cost
low; boxes are reported and drawn in the frame's own pixels. An event goes to
the viewers at most every ``min_interval`` seconds while something moves:
``{"op": "event", "kind": "motion", "processor": ID, "boxes": [[x, y, w, h], ...],
"width": W, "height": H, "time": UNIX_SECONDS}``.
"""

from __future__ import annotations

import cv2
import numpy as np

from .base import FrameContext, Param, Processor, RateLimit, report_boxes

_WARMUP_FRAMES = 5  # the model learns the scene first; its early masks are noise


class Motion(Processor):
    name = "motion"
    label = "Motion detection"
    schema = (
        Param("min_area", "float", 0.002, min=0.0, max=1.0, label="min area (fraction of frame)"),
        Param("sensitivity", "int", 25, min=1, max=255, label="sensitivity threshold"),
        Param("history", "int", 200, min=2, max=5000, label="history (frames)"),
        Param("analysis_width", "int", 320, min=64, max=1600, label="analysis width (px)"),
        Param("draw", "bool", True, label="draw boxes"),
        Param("color", "color", "#ff3030"),
        Param("min_interval", "float", 1.0, min=0.0, max=3600.0, label="min s between events"),
    )

    def __init__(self, params: dict[str, object] | None = None) -> None:
        super().__init__(params)
        p = self.params
        self._model = cv2.createBackgroundSubtractorMOG2(
            history=p["history"], varThreshold=p["sensitivity"], detectShadows=False
        )
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._rate = RateLimit(p["min_interval"])
        self._frames = 0
        self.last_boxes: list[list[int]] = []

    def detect(self, frame: np.ndarray) -> list[list[int]]:
        """Boxes ``[x, y, w, h]`` of what moved since the model's picture of the scene."""
        h, w = frame.shape[:2]
        scale = min(1.0, self.params["analysis_width"] / w)
        small = (
            frame
            if scale == 1.0
            else cv2.resize(
                frame,
                (max(1, round(w * scale)), max(1, round(h * scale))),
                interpolation=cv2.INTER_AREA,
            )
        )
        mask = self._model.apply(small)
        self._frames += 1
        if self._frames <= _WARMUP_FRAMES:
            return []
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._kernel)
        mask = cv2.dilate(mask, self._kernel, iterations=2)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        min_area = self.params["min_area"] * small.shape[0] * small.shape[1]
        boxes: list[list[int]] = []
        for contour in contours:
            bx, by, bw, bh = cv2.boundingRect(contour)
            if bw * bh < max(min_area, 4):
                continue
            boxes.append(
                [round(bx / scale), round(by / scale), round(bw / scale), round(bh / scale)]
            )
        boxes.sort(key=lambda b: b[2] * b[3], reverse=True)
        return boxes[:32]

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        boxes = self.detect(frame)
        self.last_boxes = boxes
        return report_boxes(
            frame,
            ctx,
            boxes,
            kind="motion",
            draw=self.params["draw"],
            color=self.params["color"],
            rate=self._rate,
        )
