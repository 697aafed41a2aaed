"""One camera's control service: checks requests, forwards them, keeps and pushes the state.

The data channel (``signaling/datachannel.py``) and ``POST
/api/cameras/{name}/control`` both call :meth:`CameraControl.handle` with a
request object and send back what it returns. Every subscriber (each
viewer's data channel) gets ``{"op": "state", ...}`` whenever the camera's
state changes: applied sets, /status reads that differ, the stream or the
control server going away or coming back, a frame size change, the
framesize table being learned.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..common.hub import Push, Subscribers
from ..common.stats import LatencyRecorder
from ..ingest.jpeg import jpeg_size
from .config import ControlConfig
from .forwarder import Forwarder, Outcome
from .framesizes import FramesizeLearner, is_large_sensor
from .schema import UNREPORTED, BoardView, GetRequest, InvalidRequest, parse_request

log = logging.getLogger(__name__)


class CameraControl:
    """Control of one camera, keyed by its name."""

    def __init__(
        self,
        name: str,
        control_url: str,
        cfg: ControlConfig | None = None,
        *,
        stream_connected: Callable[[], bool] | None = None,
        settle: float = 0.5,
    ) -> None:
        self.name = name
        self.forwarder = Forwarder(
            name,
            control_url,
            cfg,
            on_applied=self._on_applied,
            on_status=self._on_status,
            on_reachable=self._on_reachable,
        )
        self.status: dict[str, Any] | None = None  # the board's last /status, as it sent it
        self.applied: dict[str, int] = {}  # values /status never reports (vflip)
        self.learner = FramesizeLearner(settle)
        self.set_latency = LatencyRecorder()  # request in -> outcome, for sets
        self.outcomes: dict[str, int] = {}  # requests answered, by "ok" or error code
        self._stream_connected = stream_connected or (lambda: False)
        self._subscribers = Subscribers(f"camera {name}: control")
        self._push_handle: asyncio.Handle | None = None
        self._refresh_timer: asyncio.TimerHandle | None = None
        self._last_pushed: dict[str, Any] | None = None

    async def start(self) -> None:
        await self.forwarder.start()

    async def stop(self) -> None:
        for handle in (self._push_handle, self._refresh_timer):
            if handle is not None:
                handle.cancel()
        self._push_handle = self._refresh_timer = None
        await self.forwarder.stop()

    # ---- requests

    def board_view(self) -> BoardView:
        return BoardView(self.status, self.learner.table)

    async def handle(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """Answer one request object (``op`` get or set); the caller adds the id."""
        reply = await self._answer(message)
        outcome = "ok" if reply.get("ok") else str(reply.get("error", "error"))
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        return reply

    async def _answer(self, message: Mapping[str, Any]) -> dict[str, Any]:
        started = time.monotonic()
        try:
            request = parse_request(message, self.board_view())
        except InvalidRequest as exc:
            return {"ok": False, "error": "invalid", "message": str(exc)}
        if isinstance(request, GetRequest):
            outcome = await self.forwarder.read()
            if not outcome.ok:
                return _failure(outcome)
            fields = self.state_fields()
            fields["camera"] = dict(outcome.status or {})
            return {"ok": True, **fields}
        outcome = await self.forwarder.set(request.var, request.val)
        self.set_latency.add(time.monotonic() - started)
        if not outcome.ok:
            reply = _failure(outcome)
            reply["var"] = request.var
            return reply
        reply = {"ok": True, "var": outcome.var, "val": outcome.val}
        if outcome.superseded:
            reply["superseded"] = True
        return reply

    # ---- state

    def state_fields(self) -> dict[str, Any]:
        table = self.learner.table_or_guess()
        size = self.learner.frame_size
        return {
            "connected": self._stream_connected(),
            "camera": dict(self.status or {}),
            "applied": dict(self.applied),
            "control": {"reachable": self.forwarder.reachable},
            "framesizes": {
                "table": table.name,
                "learned": self.learner.learned,
                "sizes": table.describe(is_large_sensor(self.status)),
            },
            "resolution": f"{size[0]}x{size[1]}" if size else None,
        }

    def state_message(self) -> dict[str, Any]:
        return {"op": "state", **self.state_fields()}

    def subscribe(self, push: Push) -> Callable[[], None]:
        """Call ``push`` with every state change, starting with the current state."""
        unsubscribe = self._subscribers.add(push)
        push(self.state_message())
        return unsubscribe

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def _schedule_push(self) -> None:
        # Several changes in one loop iteration make one message.
        if self._push_handle is None:
            self._push_handle = asyncio.get_running_loop().call_soon(self._push_state)

    def _push_state(self) -> None:
        self._push_handle = None
        message = self.state_message()
        if message == self._last_pushed:
            return
        self._last_pushed = message
        self._broadcast(message)

    def _broadcast(self, message: dict[str, Any]) -> None:
        self._subscribers.broadcast(message)

    @property
    def pushes(self) -> int:
        return self._subscribers.broadcasts

    def _event(self, kind: str) -> None:
        self._broadcast({"op": "event", "kind": kind})

    # ---- what the forwarder, the stream and the frames report

    def _on_applied(self, var: str, val: int) -> None:
        now = time.monotonic()
        if var in UNREPORTED:
            self.applied = {**self.applied, var: val}
        elif self.status is not None and var in self.status:
            self.status = {**self.status, var: val}
        if var == "framesize":
            self.learner.on_status(val, now, now)
        self._schedule_push()

    def _on_status(self, status: dict[str, Any], sent_at: float, received_at: float) -> None:
        self.learner.on_status(status.get("framesize"), sent_at, received_at)
        if status != self.status:
            self.status = status
            self._schedule_push()

    def _on_reachable(self, reachable: bool) -> None:
        self._event("control_online" if reachable else "control_offline")
        self._schedule_push()

    def on_stream_state(self, connected: bool) -> None:
        """The camera's stream connection came up or went down."""
        self._event("camera_online" if connected else "camera_offline")
        self._schedule_push()

    def on_jpeg(self, data: bytes, now: float) -> None:
        """Every JPEG from the stream: its size teaches which framesize table the board uses."""
        size = jpeg_size(data)
        if size is None:
            return
        size_changed, table_changed = self.learner.on_frame_size(size, now)
        if size_changed:
            # Read /status once the new size has settled: that read pairs a number with a size.
            if self._refresh_timer is not None:
                self._refresh_timer.cancel()
            self._refresh_timer = asyncio.get_running_loop().call_later(
                self.learner.settle, self._refresh_after_resize
            )
            self._schedule_push()
        if table_changed:
            table = self.learner.table
            log.info("camera %s: uses the %s framesize table", self.name, table and table.name)
            self._schedule_push()

    def _refresh_after_resize(self) -> None:
        self._refresh_timer = None
        self.forwarder.refresh()

    def info(self) -> dict[str, Any]:
        table = self.learner.table
        return {
            **self.forwarder.info(),
            "framesize_table": table.name if table else None,
            "viewers_subscribed": self.subscribers,
            "state_pushes": self.pushes,
            "set_latency_ms": self.set_latency.summary_ms(),
        }


def _failure(outcome: Outcome) -> dict[str, Any]:
    reply: dict[str, Any] = {
        "ok": False,
        "error": outcome.error or "camera_unreachable",
        "message": outcome.message,
    }
    if outcome.superseded:
        reply["superseded"] = True
    return reply
