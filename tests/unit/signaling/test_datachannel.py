"""The data channel's message envelope."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signaling.datachannel import MAX_MESSAGE_BYTES, EnvelopeError, parse_envelope, valid_id


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
