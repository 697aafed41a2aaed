"""A camera's processor chain: ordered stages run on decoded frames, immutable once built.

The chain runs in the camera's worker thread (see :mod:`relay.video.pipeline`).
Every change (enable, disable, reorder, new parameters, a stage that failed) builds
a new :class:`Chain` and replaces the reference the pipeline reads once per frame, so
a frame is processed by one consistent chain and nothing waits for a frame to finish.
A stage that raises is reported (its owner disables it) and the frame goes on without
it. Each stage's time per frame is measured.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..common.stats import LatencyRecorder
from .config import ProcessorConfig
from .processors import (
    BUILTINS,
    Event,
    FrameContext,
    ParamError,
    Processor,
    UnknownProcessor,
    resolve,
)

ACTIONS = ("list", "enable", "disable", "reorder", "set", "add", "remove")
MAX_STAGES = 32
MAX_FRAME_SIDE = 8192


class RequestError(ValueError):
    """A processors request that cannot be applied; answered ``invalid``."""


class StageTimer:
    """Time per frame of one stage; written by the worker thread, read by the loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latency = LatencyRecorder(size=512)
        self.errors = 0

    def add(self, seconds: float) -> None:
        with self._lock:
            self._latency.add(seconds)

    def summary_ms(self) -> dict[str, float | int | None]:
        with self._lock:
            return self._latency.summary_ms()

    def histogram(self) -> tuple[list[tuple[str, int]], float]:
        with self._lock:
            return self._latency.histogram()

    def clear(self) -> None:
        with self._lock:
            self._latency.clear()


@dataclass(frozen=True)
class Stage:
    """One position in the chain: which processor, with which parameters, on or off."""

    id: str
    name: str  # built-in name or "module:Class"
    processor: Processor
    enabled: bool = True
    error: str | None = None  # why it was disabled, when a frame made it raise
    timer: StageTimer = field(default_factory=StageTimer)

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.processor.params)

    def describe(self, timing: bool = True) -> dict[str, Any]:
        cls = type(self.processor)
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "label": cls.label or cls.name or self.name,
            "enabled": self.enabled,
            "params": self.params,
            "schema": [p.describe() for p in cls.schema],
            "error": self.error,
        }
        if timing:
            out["ms"] = self.timer.summary_ms()
            out["errors"] = self.timer.errors
        return out


def _checked_output(out: Any) -> np.ndarray:
    if not isinstance(out, np.ndarray) or out.dtype != np.uint8 or out.ndim != 3:
        raise TypeError(f"returned {type(out).__name__}, not an HxWx3 uint8 BGR image")
    h, w, c = out.shape
    if c != 3 or not (2 <= h <= MAX_FRAME_SIDE and 2 <= w <= MAX_FRAME_SIDE):
        raise TypeError(f"returned an image of shape {out.shape}: needs HxWx3, 2..8192 pixels")
    return out


class Chain:
    """An immutable ordered set of stages; calling it processes one BGR frame."""

    def __init__(
        self,
        stages: Sequence[Stage],
        on_error: Callable[[Stage, BaseException], None],
        emit: Callable[[Event], None],
        seq: Iterable[int],
    ) -> None:
        self.stages: tuple[Stage, ...] = tuple(stages)
        self._on_error = on_error
        self._seq = iter(seq)
        # Each stage's events carry its id.
        self._run = tuple(
            (stage, _stage_emit(emit, stage.id)) for stage in self.stages if stage.enabled
        )

    @property
    def active(self) -> bool:
        return bool(self._run)

    def get(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        seq = next(self._seq)
        wall = time.time()
        for stage, emit in self._run:
            ctx = FrameContext(seq, wall, emit, stage.id)
            started = time.perf_counter()
            try:
                out = _checked_output(stage.processor.process(frame, ctx))
            except Exception as exc:  # any failure: this stage goes, the stream stays
                stage.timer.errors += 1
                self._on_error(stage, exc)
                continue
            stage.timer.add(time.perf_counter() - started)
            frame = out
        return frame


def _stage_emit(emit: Callable[[Event], None], stage_id: str) -> Callable[[Event], None]:
    def stage_emit(event: Event) -> None:
        emit({**event, "processor": stage_id})

    return stage_emit


def default_specs() -> tuple[ProcessorConfig, ...]:
    """Without configuration, every built-in is in the chain, switched off."""
    return tuple(ProcessorConfig(name=cls.name, enabled=False) for cls in BUILTINS)


def build_stage(spec: ProcessorConfig, taken: Iterable[str] = ()) -> Stage:
    """A stage from its configuration; raises RequestError with the reason."""
    try:
        cls = resolve(spec.name)
        processor = cls(spec.params)
    except (UnknownProcessor, ParamError) as exc:
        raise RequestError(str(exc)) from exc
    stage_id = spec.id or cls.name or spec.name
    taken = set(taken)
    if spec.id is None and stage_id in taken:
        stage_id = next(
            f"{stage_id}-{n}" for n in itertools.count(2) if f"{stage_id}-{n}" not in taken
        )
    if stage_id in taken:
        raise RequestError(f"a processor with id {stage_id!r} is already in the chain")
    return Stage(stage_id, spec.name, processor, spec.enabled)


def build_stages(specs: Sequence[ProcessorConfig]) -> list[Stage]:
    if len(specs) > MAX_STAGES:
        raise RequestError(f"at most {MAX_STAGES} processors per camera")
    stages: list[Stage] = []
    for spec in specs:
        stages.append(build_stage(spec, (s.id for s in stages)))
    return stages
