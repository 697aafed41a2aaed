"""Processors and specs for the processing tests (user processors load from here by path)."""

from __future__ import annotations

from typing import Any

import numpy as np

from relay.processing.config import ProcessorConfig
from relay.processing.processors import FrameContext, Processor

W, H = 320, 240


def frame(value: int = 100) -> np.ndarray:
    img = np.full((H, W, 3), value, np.uint8)
    img[:, :, 2] = 200  # some colour, so grayscale shows
    return img


class Boom(Processor):
    """Raises on every frame after ``after`` good ones."""

    name = "boom"
    label = "Boom"

    def __init__(self, params: Any = None) -> None:
        super().__init__(params)
        self.calls = 0

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        self.calls += 1
        if self.calls > 2:
            raise RuntimeError("boom on purpose")
        return frame


class AddOne(Processor):
    """Adds 1 to blue: the order of two such stages is visible in the result."""

    name = "add_one"

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        frame[..., 0] += 1
        return frame


class Double(Processor):
    name = "double"

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        frame[..., 0] *= 2
        return frame


class NotAnImage(Processor):
    name = "not_an_image"

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        return frame[..., 0]  # one channel: the encoder could not take it


def spec(name: str, **kw: Any) -> ProcessorConfig:
    return ProcessorConfig(name=name, **kw)


USER = f"{__name__}"
