"""Camera control end to end: aiortc viewers over WHEP with a `control` data channel -> relay ->
forwarder -> the simulated board over real sockets."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from relay.testing.relay import RunningRelay
from relay.testing.whep import WhepViewer

pytestmark = pytest.mark.network


async def _viewer(relay: RunningRelay, http: aiohttp.ClientSession) -> WhepViewer:
    v = WhepViewer(relay.whep(), decode_code=False)
    await v.connect(http, channel=True)
    # The relay greets every control channel with the current state.
    await v.wait_message(lambda m: m.get("op") == "state", timeout=15)
    return v


def _state_with(var: str, val: int):  # type: ignore[no-untyped-def]
    return lambda m: m.get("op") == "state" and m["camera"].get(var) == val


async def test_set_reaches_the_board_and_every_viewer_sees_the_new_state(
    relay: RunningRelay, http: aiohttp.ClientSession
) -> None:
    a, b = await _viewer(relay, http), await _viewer(relay, http)
    try:
        sim = relay.camera().simulator
        assert sim is not None
        await b.wait_message(_state_with("brightness", 0))
        start_b = len(b.messages)
        reply = await a.request({"op": "set", "var": "brightness", "val": 1})
        assert reply == {"id": reply["id"], "ok": True, "var": "brightness", "val": 1}
        assert sim.status()["brightness"] == 1
        state = await b.wait_message(_state_with("brightness", 1), start=start_b)
        assert state["connected"] is True and state["control"] == {"reachable": True}
        assert state["framesizes"]["sizes"][11]["name"] == "SVGA"
        # get reads the board; the HTTP API shows the same settings.
        got = await b.request({"op": "get"})
        assert got["ok"] and got["camera"]["brightness"] == 1
        async with http.get(f"{relay.base}/api/cameras/default") as r:
            info = await r.json()
        assert info["camera"]["brightness"] == 1 and "0xd3" in info["camera"]
        assert info["control"]["viewers_subscribed"] == 2
    finally:
        await asyncio.gather(a.close(http), b.close(http))


async def test_framesize_over_the_channel_changes_the_video_without_reconnecting(
    relay: RunningRelay, http: aiohttp.ClientSession
) -> None:
    v = await _viewer(relay, http)
    try:
        await v.wait_frames(3, timeout=15, where=lambda f: (f.width, f.height) == (800, 600))
        (session,) = relay.peers.sessions.values()
        reply = await v.request({"op": "set", "var": "framesize", "val": "QVGA"})
        assert reply["ok"] and reply["val"] == 6
        await v.wait_frames(5, timeout=15, where=lambda f: (f.width, f.height) == (320, 240))
        # Same session, same peer connection: no renegotiation, no reconnect.
        assert list(relay.peers.sessions.values()) == [session]
        assert v.pc.connectionState == "connected"
        state = await v.wait_message(lambda m: m.get("resolution") == "320x240")
        assert state["camera"]["framesize"] == 6
    finally:
        await v.close(http)


async def test_malformed_messages_are_answered_and_the_channel_stays_open(
    relay: RunningRelay, http: aiohttp.ClientSession
) -> None:
    v = await _viewer(relay, http)
    try:
        start = len(v.messages)
        bad = [
            "{",
            "[1, 2]",
            json.dumps({"id": 1, "pad": "x" * 8000}),
            json.dumps({"op": "get"}),
            json.dumps({"id": True, "op": "get"}),
        ]
        for text in bad:
            v.send(text)
        replies = [
            await v.request({"op": "set", "var": "nope", "val": 1}),
            await v.request({"op": "set", "var": "brightness", "val": 9}),
            await v.request({"op": "set", "var": "brightness", "val": "1"}),
            await v.request({"op": "set", "var": "brightness"}),
            await v.request({"op": "jump"}),
        ]
        assert [r["error"] for r in replies] == ["invalid"] * 5
        assert "unknown variable" in replies[0]["message"]
        assert "within -2..2" in replies[1]["message"]
        nulls = [m for m in v.messages[start:] if "op" not in m and m["id"] is None]
        assert len(nulls) == len(bad)
        assert all(m["error"] == "invalid" for m in nulls)
        assert "too large" in nulls[2]["message"]
        # Still open, still answering; nothing invalid reached the board.
        assert v.channel is not None and v.channel.readyState == "open"
        got = await v.request({"op": "get"})
        assert got["ok"] and got["camera"]["brightness"] == 0
        control = relay.camera().control
        assert control is not None
        assert control.forwarder.stats.control_requests == 0
    finally:
        await v.close(http)


async def test_every_request_of_a_burst_gets_exactly_one_reply(
    relay: RunningRelay, http: aiohttp.ClientSession
) -> None:
    a, b = await _viewer(relay, http), await _viewer(relay, http)
    try:
        sent: dict[str, list[object]] = {"a": [], "b": []}
        for i in range(300):
            val = (i // 10) % 5 - 2
            sent["a"].append(a.send({"op": "set", "var": "contrast", "val": val}))
            sent["b"].append(b.send({"op": "set", "var": "saturation", "val": -val}))
            await asyncio.sleep(0.002)
        for name, viewer in (("a", a), ("b", b)):
            ids = set(sent[name])
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                replies = [m for m in viewer.messages if "op" not in m and m.get("id") in ids]
                if len(replies) >= len(ids):
                    break
                await asyncio.sleep(0.05)
            got = [m["id"] for m in viewer.messages if "op" not in m and m.get("id") in ids]
            assert sorted(got) == sorted(ids)  # each id exactly once
        last = [m for m in a.messages if m.get("id") == sent["a"][-1]][0]
        assert last["ok"] and not last.get("superseded")
        sim = relay.camera().simulator
        assert sim is not None
        assert sim.status()["contrast"] == (299 // 10) % 5 - 2
        assert sim.status()["saturation"] == -((299 // 10) % 5 - 2)
        control = relay.camera().control
        assert control is not None
        assert control.forwarder.stats.control_requests <= 60  # 600 sets over ~1 s
    finally:
        await asyncio.gather(a.close(http), b.close(http))


async def test_a_slider_burst_of_any_size_ends_on_the_newest_value(
    relay: RunningRelay, http: aiohttp.ClientSession
) -> None:
    """500 sets of one variable sent at once coalesce into one pending request: none is
    refused busy, and the board ends on the last value asked for."""
    v = await _viewer(relay, http)
    try:
        values = [(i * 7) % 5 - 2 for i in range(499)] + [1]
        ids = [v.send({"op": "set", "var": "contrast", "val": val}) for val in values]
        # A different request in the same burst is not crowded out either.
        other = v.send({"op": "set", "var": "saturation", "val": -1})
        wanted = set(ids) | {other}
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            replies = {m["id"]: m for m in v.messages if "op" not in m and m.get("id") in wanted}
            if len(replies) == len(wanted):
                break
            await asyncio.sleep(0.05)
        assert len(replies) == len(wanted)
        busy = [m for m in replies.values() if m.get("error") == "busy"]
        assert not busy, f"{len(busy)} answered busy, e.g. {busy[0]}"
        failed = [replies[i] for i in ids if not replies[i]["ok"]]
        assert not failed, failed[:3]
        assert replies[ids[-1]]["val"] == 1 and not replies[ids[-1]].get("superseded")
        assert replies[other]["ok"]
        sim = relay.camera().simulator
        assert sim is not None
        assert sim.status()["contrast"] == 1
        assert sim.status()["saturation"] == -1
    finally:
        await v.close(http)


async def test_set_to_reply_latency(relay: RunningRelay, http: aiohttp.ClientSession) -> None:
    v = await _viewer(relay, http)
    try:
        variables = ("brightness", "contrast", "saturation", "ae_level")
        latencies = []
        for i in range(100):
            t0 = time.perf_counter()
            reply = await v.request({"op": "set", "var": variables[i % 4], "val": i % 5 - 2})
            latencies.append(time.perf_counter() - t0)
            assert reply["ok"]
            await asyncio.sleep(0.03)  # a person clicking, not a drag: no variable is held back
        latencies.sort()
        p50, p95 = latencies[49] * 1000, latencies[94] * 1000
        print(f"\nset -> reply over the data channel: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
        assert p95 < 100
    finally:
        await v.close(http)


async def test_closed_sessions_leave_no_control_task(
    relay: RunningRelay, http: aiohttp.ClientSession
) -> None:
    a, b = await _viewer(relay, http), await _viewer(relay, http)
    control = relay.camera().control
    assert control is not None and control.subscribers == 2
    # Requests still in flight when the viewer leaves.
    for i in range(20):
        a.send({"op": "set", "var": "agc_gain", "val": i})
    await a.close(http)
    await b.close(http)
    deadline = time.monotonic() + 10
    while (control.subscribers or _signaling_tasks()) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert control.subscribers == 0
    assert _signaling_tasks() == []


def _signaling_tasks() -> list[str]:
    names = []
    for task in asyncio.all_tasks():
        code = getattr(task.get_coro(), "cr_code", None)
        if code is not None and "/signaling/" in code.co_filename:
            names.append(code.co_qualname)
    return names
