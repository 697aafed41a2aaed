"""A viewer's ``control`` data channel for one camera: processing requests to the camera's
processing, everything else to its control service, and the pushes of both.

Each viewer's channel knows who opened it: a viewer may read (``get``, the processor
list) and is answered ``forbidden`` for anything that changes the camera; every change
an operator makes is written to the audit log with who, what and from where.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .common.hub import Push
from .control.service import CameraControl
from .processing.service import CameraProcessing

# Who made a change: (action, detail) -> recorded. The application binds who and where.
Audit = Callable[[str, dict[str, Any]], None]
READ_ONLY_PROCESSOR_ACTIONS = ("list",)


class CameraChannel:
    """The handler :func:`signaling.datachannel.control_channel` serves a viewer's channel with."""

    def __init__(
        self,
        control: CameraControl | None,
        processing: CameraProcessing,
        *,
        may_steer: bool = True,
        audit: Audit | None = None,
    ) -> None:
        self.control = control
        self.processing = processing
        self.may_steer = may_steer
        self.audit = audit

    async def handle(self, message: Mapping[str, Any]) -> dict[str, Any]:
        op = message.get("op")
        if op == "processors":
            changes = message.get("action", "list") not in READ_ONLY_PROCESSOR_ACTIONS
            if changes and not self.may_steer:
                return _forbidden("changing the processing needs the operator role")
            reply = await self.processing.handle(message)
            if changes and reply.get("ok") and self.audit is not None:
                detail = {k: v for k, v in message.items() if k not in ("id", "op")}
                self.audit("processors", detail)
            return reply
        if self.control is None:
            return {"ok": False, "error": "invalid", "message": "this camera has no control server"}
        if op != "get" and not self.may_steer:
            return _forbidden("changing the camera's settings needs the operator role")
        reply = await self.control.handle(message)
        if op == "set" and reply.get("ok") and self.audit is not None:
            self.audit("control", {"var": reply.get("var"), "val": reply.get("val")})
        return reply

    def coalesce_key(self, message: Mapping[str, Any]) -> str | None:
        """Sets of one variable merge in the control queue (the newest value wins), and
        every pending get shares one /status read."""
        if self.control is None:
            return None
        op = message.get("op")
        if op == "set" and isinstance(message.get("var"), str) and self.may_steer:
            return f"set:{message['var']}"
        if op == "get":
            return "get"
        return None

    def subscribe(self, push: Push) -> Callable[[], None]:
        unsubscribes = []
        if self.control is not None:
            unsubscribes.append(self.control.subscribe(push))
        unsubscribes.append(self.processing.subscribe(push))

        def unsubscribe() -> None:
            for fn in unsubscribes:
                fn()

        return unsubscribe


def _forbidden(message: str) -> dict[str, Any]:
    return {"ok": False, "error": "forbidden", "message": message}
