"""Hostile JSON over HTTP and over the data channel: the same answers, never a 500.

Every JSON body of the API and every data channel message go through one reader
(signaling/jsontext.py), so the same bad text gets the same refusal both ways; and a
body sent in pieces is read whole.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from relay.testing.relay import RunningRelay
from relay.testing.whep import WhepViewer

pytestmark = pytest.mark.network

ROUTES = (
    ("POST", "/api/cameras/default/control"),
    ("POST", "/api/cameras/default/processors"),
    ("PUT", "/api/cameras/default/processors"),
)

HOSTILE = {
    "deep": ("[" * 2000 + "]" * 2000).encode(),
    "deep_object": ('{"a":' * 40 + "1" + "}" * 40).encode(),
    "nan": b'{"id": 1, "op": "set", "var": "contrast", "val": NaN}',
    "infinity": b'{"id": 1, "op": "set", "var": "contrast", "val": -Infinity}',
    "bad_utf8": b'{"id": 1, "op": "get", "x": "\xff\xfe"}',
    "truncated": b'{"id": 1, "op": "se',
    "empty": b"",
}


def _expected(kind: str) -> str:
    return {
        "deep": "nested deeper than 32 levels",
        "deep_object": "nested deeper than 32 levels",
        "nan": "NaN is not a JSON value",
        "infinity": "-Infinity is not a JSON value",
        "bad_utf8": "not UTF-8 text: byte 0xff at position 29",
        "truncated": "not JSON",
        "empty": "not JSON",
    }[kind]


@pytest.mark.parametrize("kind", sorted(HOSTILE))
async def test_every_json_route_refuses_hostile_text_with_the_channels_words(
    relay: RunningRelay, http: aiohttp.ClientSession, kind: str
) -> None:
    body = HOSTILE[kind]
    answers = []
    for method, path in ROUTES:
        async with http.request(
            method, relay.base + path, data=body, headers={"Content-Type": "application/json"}
        ) as r:
            reply = await r.json()
            assert r.status == 400, (method, path, r.status, reply)
            assert reply["error"] == "invalid", reply
            answers.append(reply["message"])
    v = WhepViewer(relay.whep(), decode_code=False)
    await v.connect(http, channel=True)
    try:
        await v.wait_message(lambda m: m.get("op") == "state", timeout=15)
        assert v.channel is not None
        v.channel.send(body)
        reply = await v.wait_message(lambda m: "op" not in m and m.get("ok") is False, 10)
        assert reply["error"] == "invalid"
        answers.append(reply["message"])
    finally:
        await v.close(http)
    assert _expected(kind) in answers[0], answers
    assert len(set(answers)) == 1, answers  # the same words on every path
    async with http.get(relay.base + "/api/cameras/default") as r:
        assert r.status == 200  # and the relay goes on serving


async def _pieces(body: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(body), 7):
        yield body[i : i + 7]
        await asyncio.sleep(0.01)


async def test_a_body_sent_in_pieces_is_read_whole(
    relay: RunningRelay, http: aiohttp.ClientSession
) -> None:
    body = json.dumps({"op": "processors", "action": "list", "id": "pieces"}).encode()
    async with http.post(
        relay.base + "/api/cameras/default/processors",
        data=_pieces(body),  # chunked transfer, one small piece at a time
        headers={"Content-Type": "application/json"},
    ) as r:
        reply = await r.json()
    assert r.status == 200 and reply["ok"] and reply["id"] == "pieces", reply
    assert any(p["id"] == "grayscale" for p in reply["processors"]), reply


async def test_a_body_past_the_limit_is_413_however_it_is_sent(
    relay: RunningRelay, http: aiohttp.ClientSession
) -> None:
    url = relay.base + "/api/cameras/default/control"
    big = b'{"pad": "' + b"x" * 5000 + b'"}'
    async with http.post(url, data=big) as r:
        assert r.status == 413 and (await r.json())["error"] == "too_large"
    async with http.post(url, data=_chunks(big)) as r:  # no Content-Length: chunked
        assert r.status == 413 and (await r.json())["error"] == "too_large"


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(body), 1000):
        yield body[i : i + 1000]
