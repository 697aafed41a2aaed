"""The one JSON reader: limits and messages, and only JsonError for any input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signaling.jsontext import MAX_DEPTH, JsonError, read_json


def test_documents_within_the_limits_are_read() -> None:
    assert read_json(b'{"a": [1, 2.5, "x", null, true]}', 100) == {"a": [1, 2.5, "x", None, True]}
    nested: str = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert read_json(nested, 1000) is not None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "nested deeper than 32 levels"),
        ("[" * 5000 + "]" * 5000, "nested deeper than 32 levels"),
        ("NaN", "NaN is not a JSON value"),
        ('{"v": Infinity}', "Infinity is not a JSON value"),
        (b"\xc3\x28", "not UTF-8 text: byte 0xc3 at position 0"),
        ("x" * 11, "too large: 11 bytes (limit 10)"),
        ("", "not JSON"),
    ],
)
def test_what_is_refused_and_how_it_is_said(data: str | bytes, message: str) -> None:
    with pytest.raises(JsonError) as caught:
        read_json(data, 10 if message.startswith("too large") else 100_000)
    assert message in str(caught.value)
    assert caught.value.too_large == message.startswith("too large")


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_any_input_is_read_or_refused_with_a_json_error(data: str | bytes) -> None:
    with contextlib.suppress(JsonError):
        read_json(data, 200)
