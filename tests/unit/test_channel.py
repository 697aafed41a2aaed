"""A viewer's channel: processing requests to processing, the rest to control."""

from __future__ import annotations

from typing import Any

from relay.channel import CameraChannel
from relay.processing.service import CameraProcessing


async def test_channel_handler_routes_processors_here_and_the_rest_to_control() -> None:
    class Control:
        def __init__(self) -> None:
            self.seen: list[Any] = []

        async def handle(self, message: Any) -> dict[str, Any]:
            self.seen.append(message)
            return {"ok": True, "var": "brightness", "val": 1}

        def subscribe(self, push: Any) -> Any:
            push({"op": "state"})
            return lambda: None

    control = Control()
    channel = CameraChannel(control, CameraProcessing("cam"))
    pushed: list[dict[str, Any]] = []
    channel.subscribe(pushed.append)
    assert [m["op"] for m in pushed] == ["state", "processors"]
    reply = await channel.handle({"op": "processors", "action": "list"})
    assert reply["ok"] and len(reply["available"]) == 12 and not control.seen
    assert (await channel.handle({"op": "set", "var": "brightness", "val": 1}))["ok"]
    assert len(control.seen) == 1
    alone = CameraChannel(None, CameraProcessing("cam"))
    assert (await alone.handle({"op": "get"}))["error"] == "invalid"
