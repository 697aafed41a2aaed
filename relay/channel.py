"""A viewer's ``control`` data channel for one camera: processing requests to the camera's
processing, everything else to its control service, and the pushes of both."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .common.hub import Push
from .control.service import CameraControl
from .processing.service import CameraProcessing


class CameraChannel:
    """The handler :func:`signaling.datachannel.control_channel` serves a viewer's channel with."""

    def __init__(self, control: CameraControl | None, processing: CameraProcessing) -> None:
        self.control = control
        self.processing = processing

    async def handle(self, message: Mapping[str, Any]) -> dict[str, Any]:
        if message.get("op") == "processors":
            return await self.processing.handle(message)
        if self.control is None:
            return {"ok": False, "error": "invalid", "message": "this camera has no control server"}
        return await self.control.handle(message)

    def coalesce_key(self, message: Mapping[str, Any]) -> str | None:
        """Sets of one variable merge in the control queue (the newest value wins), and
        every pending get shares one /status read."""
        if self.control is None:
            return None
        op = message.get("op")
        if op == "set" and isinstance(message.get("var"), str):
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
