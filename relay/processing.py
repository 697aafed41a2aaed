"""A camera's processor chain: ordered stages run on decoded frames, changed live.

The chain runs in the camera's worker thread (see :mod:`relay.pipeline`); the
event loop only ever swaps it. A :class:`Chain` is immutable: every change
(enable, disable, reorder, new parameters, a stage that failed) builds a new
chain under a lock and replaces the reference the pipeline reads once per
frame, so a frame is processed by one consistent chain and nothing waits for
a frame to finish. A stage that raises is disabled (an ``processor_error``
event tells every viewer) and the frame goes on without it. Each stage's time
per frame is measured.

Requests (the ``control`` data channel's ``op: "processors"``, and HTTP) are
answered by :meth:`CameraProcessing.handle`; :class:`CameraChannel` routes a
viewer's channel between it and the camera's control service.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from .config import ProcessorConfig
from .processors import (
    BUILTINS,
    Event,
    FrameContext,
    ParamError,
    Processor,
    UnknownProcessor,
    builtin_names,
    resolve,
)
from .stats import LatencyRecorder

log = logging.getLogger(__name__)

Push = Callable[[dict[str, Any]], None]
Install = Callable[[Callable[[np.ndarray], np.ndarray] | None], None]
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


class CameraProcessing:
    """The processor chain of one camera, its live changes and its events."""

    def __init__(
        self,
        camera: str,
        specs: Sequence[ProcessorConfig] | None = None,
        install: Install | None = None,
        *,
        max_events: int = 50,
    ) -> None:
        self.camera = camera
        self._install = install or (lambda _fn: None)
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribers: dict[int, Push] = {}
        self._ids = itertools.count()
        self.events: deque[dict[str, Any]] = deque(maxlen=max_events)
        self.events_sent = 0
        # Names a remote request may add: the built-ins and the classes the config named.
        self.allowed = set(builtin_names())
        specs = default_specs() if specs is None else tuple(specs)
        self.allowed.update(s.name for s in specs)
        self._chain = self._make(build_stages(specs))
        self._install(self._chain if self._chain.active else None)

    # ---- the chain

    @property
    def chain(self) -> Chain:
        return self._chain

    def _make(self, stages: Sequence[Stage]) -> Chain:
        return Chain(stages, self._on_error, self._emit, self._seq)

    def _swap(self, change: Callable[[list[Stage]], list[Stage]]) -> Chain:
        with self._lock:
            chain = self._make(change(list(self._chain.stages)))
            self._chain = chain
            self._install(chain if chain.active else None)
        return chain

    def describe(self, timing: bool = True) -> list[dict[str, Any]]:
        return [s.describe(timing) for s in self._chain.stages]

    def available(self) -> list[dict[str, Any]]:
        return [resolve(name).describe() | {"name": name} for name in sorted(self.allowed)]

    # ---- changes (any thread; the chain is swapped atomically)

    def _index(self, stages: list[Stage], stage_id: Any) -> int:
        for i, s in enumerate(stages):
            if s.id == stage_id:
                return i
        raise RequestError(f"no processor {stage_id!r} in the chain of camera {self.camera}")

    def enable(self, stage_id: str) -> Chain:
        def change(stages: list[Stage]) -> list[Stage]:
            i = self._index(stages, stage_id)
            old = stages[i]
            if not old.enabled:
                # A fresh instance: state such as a motion model would be stale.
                proc = type(old.processor)(old.processor.params)
                stages[i] = replace(old, processor=proc, enabled=True, error=None)
            return stages

        return self._swap(change)

    def disable(self, stage_id: str) -> Chain:
        def change(stages: list[Stage]) -> list[Stage]:
            i = self._index(stages, stage_id)
            stages[i] = replace(stages[i], enabled=False)
            return stages

        return self._swap(change)

    def set_params(self, stage_id: str, params: Any) -> Chain:
        if not isinstance(params, Mapping):
            raise RequestError("'params' must be an object")

        def change(stages: list[Stage]) -> list[Stage]:
            i = self._index(stages, stage_id)
            old = stages[i]
            try:
                proc = type(old.processor)({**old.processor.params, **params})
            except ParamError as exc:
                raise RequestError(str(exc)) from exc
            stages[i] = replace(old, processor=proc, error=None)
            old.timer.clear()  # the old numbers describe other parameters
            return stages

        return self._swap(change)

    def reorder(self, order: Any) -> Chain:
        """The listed ids first, in that order; the others after them, in their order."""
        if not isinstance(order, list) or not all(isinstance(x, str) for x in order):
            raise RequestError("'order' must be a list of processor ids")
        if len(set(order)) != len(order):
            raise RequestError("'order' names a processor twice")

        def change(stages: list[Stage]) -> list[Stage]:
            first = [stages[self._index(stages, sid)] for sid in order]
            return first + [s for s in stages if s.id not in order]

        return self._swap(change)

    def add(
        self,
        name: Any,
        stage_id: Any = None,
        params: Any = None,
        enabled: Any = True,
        index: Any = None,
        *,
        trusted: bool = False,
    ) -> Chain:
        if not isinstance(name, str) or (not trusted and name not in self.allowed):
            raise RequestError(
                f"cannot add {name!r}: choose one of {', '.join(sorted(self.allowed))}"
            )
        if stage_id is not None and not isinstance(stage_id, str):
            raise RequestError("'processor' must be a string")
        if not isinstance(enabled, bool):
            raise RequestError("'enabled' must be true or false")
        if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
            raise RequestError("'index' must be an integer")
        if params is not None and not isinstance(params, Mapping):
            raise RequestError("'params' must be an object")
        spec = ProcessorConfig(name=name, id=stage_id, enabled=enabled, params=dict(params or {}))

        def change(stages: list[Stage]) -> list[Stage]:
            if len(stages) >= MAX_STAGES:
                raise RequestError(f"at most {MAX_STAGES} processors per camera")
            stage = build_stage(spec, (s.id for s in stages))
            stages.insert(len(stages) if index is None else index, stage)
            return stages

        return self._swap(change)

    def remove(self, stage_id: str) -> Chain:
        def change(stages: list[Stage]) -> list[Stage]:
            del stages[self._index(stages, stage_id)]
            return stages

        return self._swap(change)

    def replace_all(self, specs: Sequence[ProcessorConfig], *, trusted: bool = False) -> Chain:
        for spec in specs:
            if not trusted and spec.name not in self.allowed:
                raise RequestError(f"cannot add {spec.name!r}")
        stages = build_stages(specs)
        return self._swap(lambda _old: stages)

    def _on_error(self, failed: Stage, exc: BaseException) -> None:
        """Called by the worker thread: switch the stage off, tell everyone, go on."""
        message = f"{type(exc).__name__}: {exc}"[:300]
        log.warning(
            "camera %s: processor %s failed and is disabled: %s", self.camera, failed.id, message
        )

        def change(stages: list[Stage]) -> list[Stage]:
            for i, s in enumerate(stages):
                # Only the instance that failed: a newer one (new parameters) gets its chance.
                if s.id == failed.id and s.processor is failed.processor:
                    stages[i] = replace(s, enabled=False, error=message)
            return stages

        self._swap(change)
        self._emit({"kind": "processor_error", "processor": failed.id, "message": message})
        self._call_soon(self.push_state)

    # ---- requests

    async def handle(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """Answer one ``op: "processors"`` request (the caller adds the id)."""
        self._bind()
        action = message.get("action", "list")
        if action == "list":
            return {"ok": True, "processors": self.describe(), "available": self.available()}
        try:
            # Building a processor may load files (the face cascade): not on the loop.
            await asyncio.to_thread(self.apply, message)
        except RequestError as exc:
            return {"ok": False, "error": "invalid", "message": str(exc)}
        self.push_state()
        return {"ok": True, "processors": self.describe()}

    def apply(self, message: Mapping[str, Any]) -> Chain:
        """Apply one change request; raises RequestError."""
        action = message.get("action")
        stage_id = message.get("processor")
        if action in ("enable", "disable", "set", "remove") and not isinstance(stage_id, str):
            raise RequestError(f"{action} needs 'processor': the id of a processor in the chain")
        assert isinstance(stage_id, str) or action not in ("enable", "disable", "set", "remove")
        if action == "enable":
            return self.enable(str(stage_id))
        if action == "disable":
            return self.disable(str(stage_id))
        if action == "set":
            return self.set_params(str(stage_id), message.get("params"))
        if action == "remove":
            return self.remove(str(stage_id))
        if action == "reorder":
            return self.reorder(message.get("order"))
        if action == "add":
            return self.add(
                message.get("name"),
                stage_id,
                message.get("params"),
                message.get("enabled", True),
                message.get("index"),
            )
        raise RequestError(f"unknown action {action!r}: use one of {', '.join(ACTIONS)}")

    # ---- pushes and events

    def _bind(self) -> None:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()

    def start(self) -> None:
        """Called on the event loop: events from the worker thread are delivered on it."""
        self._loop = asyncio.get_running_loop()

    def subscribe(self, push: Push) -> Callable[[], None]:
        """``push`` gets the chain after every change (now first) and every event."""
        self._bind()
        key = next(self._ids)
        self._subscribers[key] = push
        push(self.state_message())

        def unsubscribe() -> None:
            self._subscribers.pop(key, None)

        return unsubscribe

    def state_message(self) -> dict[str, Any]:
        return {"op": "processors", "processors": self.describe()}

    def push_state(self) -> None:
        self._broadcast(self.state_message())

    def _emit(self, event: Event) -> None:
        """Any thread: deliver ``event`` to the viewers on the event loop."""
        message = {"op": "event", "camera": self.camera, **event}
        self._call_soon(self._deliver, message)

    def _call_soon(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(fn, *args)

    def _deliver(self, message: dict[str, Any]) -> None:
        self.events.append(message)
        self.events_sent += 1
        self._broadcast(message)

    def _broadcast(self, message: dict[str, Any]) -> None:
        for push in list(self._subscribers.values()):
            try:
                push(message)
            except Exception:
                log.exception("camera %s: pushing a processing message failed", self.camera)

    def info(self) -> dict[str, Any]:
        return {
            "processors": self.describe(),
            "active": self._chain.active,
            "events_sent": self.events_sent,
        }


class ControlLike(Protocol):
    async def handle(self, message: Mapping[str, Any]) -> dict[str, Any]: ...

    def subscribe(self, push: Push) -> Callable[[], None]: ...


class CameraChannel:
    """A viewer's ``control`` channel handler: ``op: "processors"`` here, the rest to control."""

    def __init__(self, control: ControlLike | None, processing: CameraProcessing) -> None:
        self.control = control
        self.processing = processing

    async def handle(self, message: Mapping[str, Any]) -> dict[str, Any]:
        if message.get("op") == "processors":
            return await self.processing.handle(message)
        if self.control is None:
            return {"ok": False, "error": "invalid", "message": "this camera has no control server"}
        return await self.control.handle(message)

    def subscribe(self, push: Push) -> Callable[[], None]:
        unsubscribes = []
        if self.control is not None:
            unsubscribes.append(self.control.subscribe(push))
        unsubscribes.append(self.processing.subscribe(push))

        def unsubscribe() -> None:
            for fn in unsubscribes:
                fn()

        return unsubscribe


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def metrics_text(cameras: Iterable[CameraProcessing]) -> str:
    """Prometheus text for every stage of every camera: time per frame, errors, on/off."""
    quantiles: list[str] = []
    counts: list[str] = []
    errors: list[str] = []
    enabled: list[str] = []
    for proc in cameras:
        for stage in proc.chain.stages:
            labels = f'camera="{_label(proc.camera)}",processor="{_label(stage.id)}"'
            summary = stage.timer.summary_ms()
            for q, key in (("0.5", "p50"), ("0.95", "p95"), ("0.99", "p99")):
                v = summary[key]
                if v is not None:
                    quantiles.append(
                        f'esp32_relay_processor_seconds{{{labels},quantile="{q}"}} {v / 1000:.6f}'
                    )
            counts.append(f"esp32_relay_processor_seconds_count{{{labels}}} {summary['count']}")
            errors.append(f"esp32_relay_processor_errors_total{{{labels}}} {stage.timer.errors}")
            enabled.append(f"esp32_relay_processor_enabled{{{labels}}} {int(stage.enabled)}")
    return "\n".join(
        [
            "# HELP esp32_relay_processor_seconds Time a processor takes per frame.",
            "# TYPE esp32_relay_processor_seconds summary",
            *quantiles,
            *counts,
            "# HELP esp32_relay_processor_errors_total Frames on which a processor raised.",
            "# TYPE esp32_relay_processor_errors_total counter",
            *errors,
            "# HELP esp32_relay_processor_enabled Whether a processor is switched on.",
            "# TYPE esp32_relay_processor_enabled gauge",
            *enabled,
            "",
        ]
    )
