"""Control requests: the schema of every variable and the check of each request."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay.control.framesizes import LEGACY_TABLE, NEW_TABLE
from relay.control.schema import (
    BY_NAME,
    VARIABLES,
    BoardView,
    GetRequest,
    InvalidRequest,
    SetRequest,
    parse_request,
    schema,
)
from relay.simulator import sensor

# The stock sketch's /status of an OV2640 board with a flash LED (no face detection).
STATUS = dict(zip(sensor.STATUS_KEYS, [8, 0, 9, 20, 4, 11, 12] + [0] * 23, strict=True))


BOARD = BoardView(STATUS, NEW_TABLE)


def _set(var: str, val: Any, board: BoardView = BOARD) -> SetRequest:
    req = parse_request({"op": "set", "var": var, "val": val}, board)
    assert isinstance(req, SetRequest)
    return req


def _invalid(message: dict[str, Any], board: BoardView = BOARD) -> str:
    with pytest.raises(InvalidRequest) as err:
        parse_request(message, board)
    return str(err.value)


EXPECTED_RANGES = {
    "quality": (4, 63),
    "brightness": (-2, 2),
    "contrast": (-2, 2),
    "saturation": (-2, 2),
    "special_effect": (0, 6),
    "wb_mode": (0, 4),
    "ae_level": (-2, 2),
    "aec_value": (0, 1200),
    "agc_gain": (0, 30),
    "gainceiling": (0, 6),
    "led_intensity": (0, 255),
    "framesize": (0, 15),  # an OV2640: up to UXGA
}


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


def test_every_variable_of_the_protocol_is_in_the_schema() -> None:
    # The sketch's /control accepts exactly these (face_* only on face detection builds).
    expected = set(sensor.CONTROL_VARIABLES) | {"face_detect", "face_recognize", "face_enroll"}
    assert {v.name for v in VARIABLES} == expected
    assert [v["var"] for v in schema()] == [v.name for v in VARIABLES]
    # Grouped like the board's own page.
    assert BY_NAME["wb_mode"].group == BY_NAME["awb"].group == "White balance"
    assert BY_NAME["special_effect"].options[6] == "Sepia"
    assert len(BY_NAME["gainceiling"].options) == 7


@pytest.mark.parametrize("spec", [v for v in VARIABLES if not v.name.startswith("face_")])
def test_each_variable_accepts_its_range_and_rejects_outside(spec: Any) -> None:
    lo, hi = EXPECTED_RANGES.get(spec.name, (0, 1))
    for val in range(lo, hi + 1):
        assert _set(spec.name, val) == SetRequest(spec.name, val)
    for val in (lo - 1, hi + 1, -(2**31), 2**31, 10**30):
        msg = _invalid({"op": "set", "var": spec.name, "val": val})
        assert spec.name in msg and "within" in msg
    for val in ("1", 1.0, 0.5, True, False, None, [1], {"v": 1}):
        if spec.name == "framesize" and isinstance(val, str):
            continue  # names are taken for framesize (checked below)
        assert "must be" in _invalid({"op": "set", "var": spec.name, "val": val})


def test_face_variables_only_where_status_reports_them() -> None:
    assert "no face_detect" in _invalid({"op": "set", "var": "face_detect", "val": 1})
    face = BoardView({**STATUS, "face_detect": 0, "face_recognize": 0, "face_enroll": 0})
    for var in ("face_detect", "face_recognize", "face_enroll"):
        assert _set(var, 1, face) == SetRequest(var, 1)
        assert "within" in _invalid({"op": "set", "var": var, "val": 2}, face)
    # Before the first /status nothing is known: the board decides.
    assert _set("face_detect", 1, BoardView()) == SetRequest("face_detect", 1)


def test_led_intensity_refused_on_boards_without_the_led() -> None:
    no_led = BoardView({**STATUS, "led_intensity": -1})
    assert "no flash LED" in _invalid({"op": "set", "var": "led_intensity", "val": 10}, no_led)
    assert _set("led_intensity", 255) == SetRequest("led_intensity", 255)


@pytest.mark.parametrize(
    ("message", "fragment"),
    [
        ({}, "missing 'op'"),
        ({"op": "reboot"}, "unknown op"),
        ({"op": 3}, "unknown op"),
        ({"op": "set", "val": 1}, "missing 'var'"),
        ({"op": "set", "var": 7, "val": 1}, "'var' must be a string"),
        ({"op": "set", "var": "brightness"}, "missing 'val'"),
        ({"op": "set", "var": "exposure", "val": 1}, "unknown variable"),
        ({"op": "set", "var": "BRIGHTNESS", "val": 1}, "unknown variable"),
        ({"op": "set", "var": "sharpness", "val": 1}, "cannot set it"),
        ({"op": "set", "var": "denoise", "val": 1}, "cannot set it"),
        ({"op": "set", "var": "xclk", "val": 20}, "expert"),
        ({"op": "set", "var": "x" * 5000, "val": 1}, "unknown variable"),
    ],
)
def test_malformed_requests_are_invalid(message: dict[str, Any], fragment: str) -> None:
    text = _invalid(message)
    assert fragment in text
    assert len(text) < 200  # never echoes a huge field back


def test_get_needs_nothing_else() -> None:
    assert parse_request({"op": "get", "id": 1}, BOARD) == GetRequest()


def test_framesize_by_name_follows_the_learned_table() -> None:
    assert _set("framesize", "QVGA", BoardView(STATUS, NEW_TABLE)).val == 6
    assert _set("framesize", "qvga", BoardView(STATUS, LEGACY_TABLE)).val == 5
    assert _set("framesize", "UXGA", BoardView(STATUS, LEGACY_TABLE)).val == 13
    # Before it is learned, the current esp32-camera numbering is assumed.
    assert _set("framesize", "SVGA", BoardView()).val == 11
    assert "unknown frame size" in _invalid({"op": "set", "var": "framesize", "val": "HUGE"})
    # An OV2640 stops at UXGA; 3 and 5 MP sensors (many 0x3... registers) go further.
    assert "unknown frame size" in _invalid({"op": "set", "var": "framesize", "val": "QXGA"})
    big = BoardView({"0x3400": 1, "0x3406": 0, **STATUS}, NEW_TABLE)
    assert _set("framesize", "QXGA", big).val == 19
    assert "within 0..13" in _invalid(
        {"op": "set", "var": "framesize", "val": 14}, BoardView(STATUS, LEGACY_TABLE)
    )


@settings(max_examples=300, deadline=None)
@given(
    op=st.sampled_from(["set", "get", "SET", None, 1]),
    var=st.sampled_from([v.name for v in VARIABLES] + ["nope", "sharpness"]) | JSON_VALUES,
    val=st.integers(-5000, 5000) | JSON_VALUES,
)
def test_fuzzed_requests_are_either_in_range_or_invalid(op: Any, var: Any, val: Any) -> None:
    try:
        req = parse_request({"op": op, "var": var, "val": val}, BOARD)
    except InvalidRequest:
        return
    if isinstance(req, SetRequest):
        spec = BY_NAME[req.var]
        hi = 15 if spec.kind == "framesize" else spec.hi
        assert spec.lo <= req.val <= hi and type(req.val) is int
