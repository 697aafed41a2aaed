"""The ``control`` data channel: JSON requests in, exactly one reply each, pushes out.

Each message is one JSON object with an ``id`` (a string or an integer the
client chooses). This module checks the envelope (size, JSON, object, id)
and how many requests one viewer has outstanding; what a request means is up
to the handler the application passes in. The handler also says which requests
coalesce (a slider's values: one variable, newest wins): while one of them is
pending, more with the same key are always taken, never answered ``busy``, because
they cost nothing but a reply; the limit is for many different requests. The
handler answers with a reply object (the id is added here) and pushes messages
such as ``{"op": "state", ...}`` to every subscribed channel. Malformed messages
are answered ``invalid`` with ``"id": null`` when no usable id could be read; the
channel stays open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from aiortc import RTCDataChannel

from .jsontext import JsonError, read_json
from .peers import DataChannelHandler, Session

log = logging.getLogger(__name__)

CHANNEL_LABEL = "control"
MAX_MESSAGE_BYTES = 4096
MAX_OUTSTANDING = 128  # per channel; past it requests are answered `busy`
MAX_BUFFERED_BYTES = 1 << 20  # pushes are skipped while a viewer's channel is this backed up
MAX_ID_LENGTH = 128
MAX_JSON_INT = 2**53


class ControlHandler(Protocol):
    async def handle(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """The reply to one request object (without its id)."""
        ...

    def subscribe(self, push: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        """Deliver pushed messages (starting with the current state); returns unsubscribe."""
        ...

    def coalesce_key(self, message: Mapping[str, Any]) -> str | None:
        """Requests with the same key merge into one pending request; None: they do not."""
        ...


class Quality(Protocol):
    """A viewer's own stream: what it gets, and the limit it sets (its track)."""

    def quality(self) -> dict[str, Any]: ...

    def limit(self, name: str) -> str: ...


QUALITY_EVERY = 1.0  # seconds between two pushes of a viewer's quality


class EnvelopeError(ValueError):
    """A message that is not a request; ``id`` is what could be read of its id."""

    def __init__(self, message: str, request_id: Any = None) -> None:
        super().__init__(message)
        self.request_id = request_id


def valid_id(value: Any) -> bool:
    """Ids are strings (up to 128 characters) or integers that JSON numbers keep exact."""
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        return len(value) <= MAX_ID_LENGTH
    return isinstance(value, int) and abs(value) <= MAX_JSON_INT


def parse_envelope(data: str | bytes, max_bytes: int = MAX_MESSAGE_BYTES) -> dict[str, Any]:
    """The request object of one message; raises EnvelopeError."""
    try:
        message = read_json(data, max_bytes)
    except JsonError as exc:
        raise EnvelopeError(str(exc)) from None
    if not isinstance(message, dict):
        raise EnvelopeError("a request is a JSON object")
    if "id" not in message:
        raise EnvelopeError("missing 'id'")
    request_id = message["id"]
    if not valid_id(request_id):
        raise EnvelopeError("'id' must be a string (up to 128 characters) or an integer")
    return message


class ControlChannel:
    """Serves one viewer's ``control`` channel until it or its session closes."""

    def __init__(
        self,
        channel: RTCDataChannel,
        handler: ControlHandler,
        *,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        max_outstanding: int = MAX_OUTSTANDING,
        allow: Callable[[], bool] | None = None,
        max_refusals: int = 1000,
        quality: Quality | None = None,
    ) -> None:
        self.channel = channel
        self.handler = handler
        # This viewer's own stream (``op: "quality"``, and a push every QUALITY_EVERY s).
        self.quality = quality
        self._quality_task: asyncio.Task[None] | None = None
        self.max_message_bytes = max_message_bytes
        self.max_outstanding = max_outstanding
        # A rate limit on messages (True: take this one); past it each message is answered
        # `busy`, and a viewer that sends ``max_refusals`` more has its channel closed.
        self.allow = allow
        self.max_refusals = max_refusals
        self.refused = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._keys: dict[str, int] = {}  # coalesce key -> its requests being served
        self._unsubscribe: Callable[[], None] | None = None
        self.closed = False
        self.received = 0
        self.replied = 0
        self.pushed = 0
        self.pushes_skipped = 0

    def start(self) -> None:
        self.channel.on("message", self._on_message)
        self.channel.on("close", self.close)
        self._unsubscribe = self.handler.subscribe(self._push)
        if self.quality is not None:
            self._quality_task = asyncio.ensure_future(self._push_quality(self.quality))

    async def _push_quality(self, quality: Quality) -> None:
        while not self.closed:
            await asyncio.sleep(QUALITY_EVERY)
            self._push({"op": "event", "kind": "quality", **quality.quality()})

    def _answer_quality(self, message: dict[str, Any]) -> dict[str, Any]:
        """``{"op": "quality"}``: what this viewer gets; ``"limit": "low"`` (a layer's name)
        holds it at that layer or cheaper, ``"auto"`` lets it have the best its link takes."""
        assert self.quality is not None
        limit = message.get("limit")
        if limit is not None:
            if not isinstance(limit, str):
                return {"ok": False, "error": "invalid", "message": "'limit' must be a string"}
            try:
                self.quality.limit(limit)
            except ValueError as exc:
                return {"ok": False, "error": "invalid", "message": str(exc)}
        return {"ok": True, **self.quality.quality()}

    @property
    def outstanding(self) -> int:
        return len(self._tasks)

    def _on_message(self, data: str | bytes) -> None:
        if self.closed:
            return
        self.received += 1
        if self.allow is not None and not self.allow():
            self._refuse(data)
            return
        try:
            message = parse_envelope(data, self.max_message_bytes)
        except EnvelopeError as exc:
            self._reply(exc.request_id, {"ok": False, "error": "invalid", "message": str(exc)})
            return
        request_id = message["id"]
        if message.get("op") == "quality" and self.quality is not None:
            self._reply(request_id, self._answer_quality(message))
            return
        key = self.handler.coalesce_key(message)
        # Requests that coalesce count once: the limit is on what the relay has to do.
        pending = len(self._tasks) - sum(self._keys.values()) + len(self._keys)
        if pending >= self.max_outstanding and not (key and key in self._keys):
            self._reply(
                request_id,
                {
                    "ok": False,
                    "error": "busy",
                    "message": f"{pending} different requests of this viewer are pending",
                },
            )
            return
        task = asyncio.ensure_future(self._serve(request_id, message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if key:
            self._keys[key] = self._keys.get(key, 0) + 1
            task.add_done_callback(lambda _task: self._release(key))

    def _refuse(self, data: str | bytes) -> None:
        self.refused += 1
        if self.refused > self.max_refusals:
            log.warning("control channel: %d messages over the rate limit; closing", self.refused)
            self._reply(
                None, {"ok": False, "error": "busy", "message": "closing: too many messages"}
            )
            self.close()
            self.channel.close()
            return
        request_id = None
        if len(data) <= self.max_message_bytes:  # say which request, when it is cheap to know
            with contextlib.suppress(EnvelopeError):
                request_id = parse_envelope(data, self.max_message_bytes)["id"]
        self._reply(
            request_id,
            {"ok": False, "error": "busy", "message": "too many messages: slow down"},
        )

    def _release(self, key: str) -> None:
        left = self._keys[key] - 1
        if left:
            self._keys[key] = left
        else:
            del self._keys[key]

    async def _serve(self, request_id: Any, message: dict[str, Any]) -> None:
        try:
            reply = await self.handler.handle(message)
        except Exception:
            log.exception("control request %r failed", request_id)
            reply = {"ok": False, "error": "internal", "message": "the relay failed to answer"}
        self._reply(request_id, reply)

    def _reply(self, request_id: Any, body: dict[str, Any]) -> None:
        if self._send({"id": request_id, **body}):
            self.replied += 1

    def _push(self, message: dict[str, Any]) -> None:
        # A viewer that does not read its channel misses states; the next one replaces them.
        if self.channel.bufferedAmount > MAX_BUFFERED_BYTES:
            self.pushes_skipped += 1
            return
        if self._send(message):
            self.pushed += 1

    def _send(self, message: dict[str, Any]) -> bool:
        if self.closed or self.channel.readyState != "open":
            return False
        try:
            self.channel.send(json.dumps(message, separators=(",", ":")))
        except Exception as exc:  # the transport may be closing underneath
            log.debug("control channel send failed: %s", exc)
            return False
        return True

    def close(self) -> None:
        """Stop pushing and drop pending replies (the requests themselves still complete)."""
        if self.closed:
            return
        self.closed = True
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._quality_task is not None:
            self._quality_task.cancel()
            self._quality_task = None
        for task in list(self._tasks):
            task.cancel()


def control_channel(
    handler: ControlHandler,
    *,
    allow: Callable[[], Callable[[], bool]] | None = None,
    max_refusals: int = 1000,
) -> DataChannelHandler:
    """A WhepStream ``on_datachannel`` hook serving the channels labelled ``control``.

    ``allow`` makes each channel's rate limit (a fresh one per channel).
    """

    serving: set[str] = set()  # sessions with a control channel: one each

    def on_datachannel(session: Session, channel: RTCDataChannel) -> None:
        if channel.label != CHANNEL_LABEL:
            return
        if session.id in serving:
            # A second control channel would be a second rate limit and a second set of
            # pushes for the same viewer.
            channel.close()
            return
        serving.add(session.id)
        session.on_close.append(lambda _session: serving.discard(session.id))
        served = ControlChannel(
            channel,
            handler,
            allow=None if allow is None else allow(),
            max_refusals=max_refusals,
            quality=session.track,
        )
        served.start()
        session.on_close.append(lambda _session: served.close())

    return on_datachannel
