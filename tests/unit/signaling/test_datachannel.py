"""The data channel: its message envelope, and how many requests a viewer may have waiting."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signaling.datachannel import (
    MAX_MESSAGE_BYTES,
    ControlChannel,
    EnvelopeError,
    parse_envelope,
    valid_id,
)


def test_envelope_accepts_string_and_integer_ids() -> None:
    assert parse_envelope('{"id": "a-1", "op": "get"}')["id"] == "a-1"
    assert parse_envelope(b'{"id": 7, "op": "get"}')["id"] == 7
    assert valid_id(2**53) and not valid_id(2**53 + 1) and not valid_id(True)
    assert not valid_id(1.5) and not valid_id(None) and not valid_id("x" * 129)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ("{", "not JSON"),
        ("", "not JSON"),
        ('{"id": 1, "op": "set", "val": NaN}', "not JSON"),
        ("[1, 2]", "JSON object"),
        ('"set"', "JSON object"),
        ('{"op": "get"}', "missing 'id'"),
        ('{"id": true, "op": "get"}', "'id' must be"),
        ('{"id": {"a": 1}, "op": "get"}', "'id' must be"),
        ('{"id": 1.5, "op": "get"}', "'id' must be"),
        (b"\xff\xfe{}", "UTF-8"),
        ('{"id": 1, "pad": "' + "x" * MAX_MESSAGE_BYTES + '"}', "too large"),
        ("[" * 3000 + "]" * 3000, "too large"),
        ("[" * 2000 + "]" * 2000, "not JSON"),
    ],
)
def test_envelope_rejects_what_is_not_a_request(data: str | bytes, fragment: str) -> None:
    with pytest.raises(EnvelopeError) as err:
        parse_envelope(data)
    assert fragment in str(err.value)
    assert err.value.request_id is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=200))
def test_envelope_fuzz_only_raises_envelope_errors(data: str | bytes) -> None:
    try:
        message = parse_envelope(data)
    except EnvelopeError:
        return
    assert isinstance(message, dict) and valid_id(message["id"])


def test_envelope_roundtrip_of_any_valid_request() -> None:
    msg = {"id": "x", "op": "set", "var": "brightness", "val": -2}
    assert parse_envelope(json.dumps(msg)) == msg


class _Channel:
    """The part of RTCDataChannel that ControlChannel uses, recording what it sends."""

    readyState = "open"
    bufferedAmount = 0

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.handlers: dict[str, Any] = {}

    def on(self, event: str, fn: Any) -> None:
        self.handlers[event] = fn

    def send(self, text: str) -> None:
        self.sent.append(json.loads(text))


class _HeldHandler:
    """Answers every request once released; sets of one variable coalesce."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def handle(self, message: Mapping[str, Any]) -> dict[str, Any]:
        await self.release.wait()
        return {"ok": True, "var": message.get("var")}

    def subscribe(self, push: Any) -> Any:
        return lambda: None

    def coalesce_key(self, message: Mapping[str, Any]) -> str | None:
        return f"set:{message['var']}" if message.get("op") == "set" else None


async def test_requests_that_coalesce_are_never_busy_but_different_ones_are() -> None:
    raw, handler = _Channel(), _HeldHandler()
    served = ControlChannel(raw, handler, max_outstanding=2)  # type: ignore[arg-type]
    served.start()
    receive = raw.handlers["message"]
    receive(json.dumps({"id": 1, "op": "set", "var": "contrast", "val": 0}))
    receive(json.dumps({"id": 2, "op": "get"}))
    for i in range(3, 503):  # a slider burst: all join the pending contrast
        receive(json.dumps({"id": i, "op": "set", "var": "contrast", "val": i % 5 - 2}))
    receive(json.dumps({"id": 600, "op": "set", "var": "saturation", "val": 1}))
    receive(json.dumps({"id": 601, "op": "get"}))
    await asyncio.sleep(0)
    assert [(m["id"], m["error"]) for m in raw.sent] == [(600, "busy"), (601, "busy")]
    handler.release.set()
    for _ in range(100):
        if len(raw.sent) == 504:
            break
        await asyncio.sleep(0.01)
    replies = [m["id"] for m in raw.sent]
    assert sorted(replies) == sorted([1, 2, *range(3, 503), 600, 601])  # each exactly once
    assert served.outstanding == 0 and served._keys == {}
