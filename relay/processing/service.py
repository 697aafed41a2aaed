"""A camera's processor chain, changed live by requests, and its events pushed to viewers.

The chain itself (:mod:`relay.processing.chain`) runs in the camera's worker thread;
here the event loop only ever swaps it. Requests (the ``control`` data channel's
``op: "processors"``, and HTTP) are answered by :meth:`CameraProcessing.handle`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ..common.hub import Push, Subscribers
from .chain import (
    ACTIONS,
    MAX_STAGES,
    Chain,
    RequestError,
    Stage,
    build_stage,
    build_stages,
    default_specs,
)
from .config import ProcessorConfig
from .processors import Event, ParamError, builtin_names, resolve

log = logging.getLogger(__name__)

Install = Callable[[Callable[[np.ndarray], np.ndarray] | None], None]


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
        self._subscribers = Subscribers(f"camera {camera}: processing")
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
        unsubscribe = self._subscribers.add(push)
        push(self.state_message())
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
        self._subscribers.broadcast(message)

    def info(self) -> dict[str, Any]:
        return {
            "processors": self.describe(),
            "active": self._chain.active,
            "events_sent": self.events_sent,
        }
