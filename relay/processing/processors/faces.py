"""Face detection with the frontal-face Haar cascade that ships inside OpenCV (``cv2.data``).

Detection runs on a grey copy scaled to ``detect_width``, on every ``every``-th
frame (the cost: about 10 to 35 ms per detection at 320 px); boxes are drawn in
the frame's pixels. While faces are in view an event ``{"op": "event", "kind":
"faces", "processor": ID, "boxes": [...], "width": W, "height": H, "time": T}``
goes out at most every ``min_interval`` seconds.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .base import FrameContext, Param, Processor, RateLimit, report_boxes

CASCADE = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]


class Faces(Processor):
    name = "faces"
    label = "Face detection"
    schema = (
        Param("detect_width", "int", 320, min=80, max=1600, label="detection width (px)"),
        Param("scale_factor", "float", 1.2, min=1.01, max=2.0, label="scale step"),
        Param("min_neighbors", "int", 5, min=1, max=50, label="min neighbours"),
        Param("min_size", "int", 24, min=8, max=1000, label="min face (detection px)"),
        Param("every", "int", 1, min=1, max=100, label="detect every n-th frame"),
        Param("draw", "bool", True, label="draw boxes"),
        Param("color", "color", "#30ff30"),
        Param("min_interval", "float", 1.0, min=0.0, max=3600.0, label="min s between events"),
    )

    def __init__(self, params: dict[str, object] | None = None) -> None:
        super().__init__(params)
        self._cascade = cv2.CascadeClassifier(str(CASCADE))
        if self._cascade.empty():
            raise RuntimeError(f"cannot load the face cascade {CASCADE}")
        self._rate = RateLimit(self.params["min_interval"])
        self.last_boxes: list[list[int]] = []
        self._frames = 0

    def detect(self, frame: np.ndarray) -> list[list[int]]:
        p = self.params
        h, w = frame.shape[:2]
        scale = min(1.0, p["detect_width"] / w)
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        if scale < 1.0:
            gray = cv2.resize(
                gray, (round(w * scale), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
            )
        gray = cv2.equalizeHist(gray)
        found = self._cascade.detectMultiScale(
            gray,
            scaleFactor=p["scale_factor"],
            minNeighbors=p["min_neighbors"],
            minSize=(p["min_size"], p["min_size"]),
        )
        return [[round(v / scale) for v in box] for box in np.asarray(found).reshape(-1, 4)]

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        # Between detections the last boxes stand: a face moves little in a few frames.
        if self._frames % self.params["every"] == 0:
            self.last_boxes = self.detect(frame)
        self._frames += 1
        boxes = self.last_boxes
        return report_boxes(
            frame,
            ctx,
            boxes,
            kind="faces",
            draw=self.params["draw"],
            color=self.params["color"],
            rate=self._rate,
        )
