"""Every JSON body of the API and every data channel message, fuzzed: answered, never a
500 or an internal error, and the relay keeps serving its viewers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relay.control import schema
from tests.fuzz.budget import FUZZ
from tests.fuzz.threaded import ThreadedRelay, open_fds

pytestmark = [
    pytest.mark.network,
    # The relay runs beside the test in its own thread and uses the random module (ICE,
    # backoff jitter); Hypothesis takes that for the strategy's own use and warns.
    pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies"),
]

ROUTES = (
    ("POST", "/api/cameras/default/control"),
    ("POST", "/api/cameras/default/processors"),
    ("PUT", "/api/cameras/default/processors"),
)
VARS = [v.name for v in schema.VARIABLES]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)

# Requests that look almost right: the fields the relay reads, with any values.
requests = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.integers(-(2**60), 2**60), st.text(max_size=140), json_values),
        "op": st.sampled_from(["get", "set", "processors", "nope", ""]) | json_values,
        "var": st.sampled_from(VARS or ["brightness"]) | json_values,
        "val": st.integers(-1000, 1000) | json_values,
        "action": st.sampled_from(["list", "enable", "disable", "set", "add", "remove", "reorder"])
        | json_values,
        "processor": st.sampled_from(["rotate", "motion", "grayscale", "os:system"]) | json_values,
        "params": st.dictionaries(st.text(max_size=10), json_values, max_size=4),
        "order": st.lists(st.text(max_size=10), max_size=5),
    },
)

bodies = st.one_of(
    requests.map(lambda r: json.dumps(r).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.lists(requests, max_size=4).map(lambda r: json.dumps(r).encode()),
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
)


def test_every_json_body_is_answered_in_json_never_500(live: ThreadedRelay) -> None:
    fds0 = open_fds()
    seen: dict[int, int] = {}

    @FUZZ
    @given(st.sampled_from(ROUTES), bodies)
    def send(route: tuple[str, str], body: bytes) -> None:
        method, path = route
        status, kind, text = live.run(
            live.request(method, path, body, {"Content-Type": "application/json"})
        )
        assert status < 500 or status in (502, 503, 504), (status, text[:300])
        assert kind == "application/json", (status, kind, text[:200])
        assert "error" in json.loads(text) or status == 200, text[:200]
        seen[status] = seen.get(status, 0) + 1

    send()
    print(f"JSON bodies by answer: {dict(sorted(seen.items()))}")
    # Put the chain back as it was for the other tests, and check the viewer still plays.
    assert live.run(live.still_playing()) >= 10
    assert open_fds() <= fds0 + 10


def test_every_data_channel_message_gets_one_reply_and_the_channel_stays_open(
    live: ThreadedRelay,
) -> None:
    v = live.channel_viewer
    count = {"sent": 0}
    replies0 = sum(1 for m in v.messages if "op" not in m)

    @FUZZ
    @given(
        st.one_of(
            requests.map(json.dumps),
            json_values.map(json.dumps),
            st.text(max_size=300),
            st.binary(max_size=300),
        )
    )
    def send(message: str | bytes) -> None:
        async def exchange() -> dict[str, Any]:
            assert v.channel is not None
            v.channel.send(message)
            count["sent"] += 1
            # A request of our own after it: its reply proves the channel still serves.
            return await v.request({"op": "get"}, timeout=10)

        reply = live.run(exchange())
        assert reply["ok"], reply

    send()

    async def all_replied() -> int:
        # Each fuzzed message and each of our own requests: exactly one reply each.
        for _ in range(300):
            got = sum(1 for m in v.messages if "op" not in m) - replies0
            if got >= 2 * count["sent"]:
                return got
            await asyncio.sleep(0.05)
        return got

    assert live.run(all_replied()) == 2 * count["sent"]
    internal = [m for m in v.messages if m.get("error") == "internal"]
    assert not internal, internal[:3]
    assert v.channel is not None and v.channel.readyState == "open"
    print(f"data channel messages: {count['sent']}")
    assert live.run(live.still_playing()) >= 10
