"""Control requests: the schema of every variable, the message envelope, the framesize tables."""

from __future__ import annotations

import json
from typing import Any

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay import simulator
from relay.controlschema import (
    BY_NAME,
    LEGACY_TABLE,
    NEW_TABLE,
    VARIABLES,
    BoardView,
    FramesizeLearner,
    GetRequest,
    InvalidRequest,
    SetRequest,
    jpeg_size,
    parse_request,
    schema,
)
from signaling.datachannel import MAX_MESSAGE_BYTES, EnvelopeError, parse_envelope, valid_id

# The stock sketch's /status of an OV2640 board with a flash LED (no face detection).
STATUS = dict(zip(simulator.STATUS_KEYS, [8, 0, 9, 20, 4, 11, 12] + [0] * 23, strict=True))
BOARD = BoardView(STATUS, NEW_TABLE)


def _set(var: str, val: Any, board: BoardView = BOARD) -> SetRequest:
    req = parse_request({"op": "set", "var": var, "val": val}, board)
    assert isinstance(req, SetRequest)
    return req


def _invalid(message: dict[str, Any], board: BoardView = BOARD) -> str:
    with pytest.raises(InvalidRequest) as err:
        parse_request(message, board)
    return str(err.value)


# ------------------------------------------------------------------ variables and ranges


def test_every_variable_of_the_protocol_is_in_the_schema() -> None:
    # The sketch's /control accepts exactly these (face_* only on face detection builds).
    expected = set(simulator.CONTROL_VARIABLES) | {"face_detect", "face_recognize", "face_enroll"}
    assert {v.name for v in VARIABLES} == expected
    assert [v["var"] for v in schema()] == [v.name for v in VARIABLES]
    # Grouped like the board's own page.
    assert BY_NAME["wb_mode"].group == BY_NAME["awb"].group == "White balance"
    assert BY_NAME["special_effect"].options[6] == "Sepia"
    assert len(BY_NAME["gainceiling"].options) == 7


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


def test_tables_match_the_protocol_and_the_simulated_board() -> None:
    for legacy, table in ((False, NEW_TABLE), (True, LEGACY_TABLE)):
        sim = simulator.framesize_table(legacy)
        assert [(f.name, f.width, f.height) for f in table.sizes[: len(sim)]] == [
            (f.name, f.width, f.height) for f in sim
        ]
    assert NEW_TABLE.get(15) is not None and NEW_TABLE.get(15).name == "UXGA"  # type: ignore[union-attr]
    assert LEGACY_TABLE.index("SVGA") == 9 and NEW_TABLE.index("SVGA") == 11


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
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


# ------------------------------------------------------------------ the envelope


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


# ------------------------------------------------------------------ frame sizes


def _jpeg(w: int, h: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", np.zeros((h, w, 3), np.uint8))
    assert ok
    return buf.tobytes()


@pytest.mark.parametrize(("w", "h"), [(96, 96), (800, 600), (1600, 1200), (321, 17)])
def test_jpeg_size_reads_the_frame_header(w: int, h: int) -> None:
    data = _jpeg(w, h)
    assert jpeg_size(data) == (w, h)
    # Progressive JPEGs carry SOF2; stray bytes before a marker are skipped.
    ok, buf = cv2.imencode(".jpg", np.zeros((h, w, 3), np.uint8), [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    assert jpeg_size(buf.tobytes()) == (w, h)
    assert jpeg_size(data[:2] + b"\x00\x00" + data[2:]) == (w, h)


def test_jpeg_size_of_broken_data_is_none() -> None:
    data = _jpeg(64, 48)
    sof = data.find(b"\xff\xc0")
    assert jpeg_size(b"") is None
    assert jpeg_size(b"\x89PNG\r\n") is None
    assert jpeg_size(data[: sof + 4]) is None
    assert jpeg_size(b"\xff\xd8\xff\xda\x00\x02") is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_jpeg_size_never_fails_on_garbage(tail: bytes) -> None:
    jpeg_size(b"\xff\xd8" + tail)


def _learn(learner: FramesizeLearner, n: int, size: tuple[int, int], t0: float) -> None:
    """Frames of ``size`` from ``t0``, a /status read of ``n`` one second later, more frames."""
    for i in range(40):
        t = t0 + i * 0.05
        if i == 20:
            learner.on_status(n, t, t + 0.01)
        learner.on_frame_size(size, t)


def test_learner_tells_the_tables_apart() -> None:
    new = FramesizeLearner(settle=0.5)
    _learn(new, 11, (800, 600), 0.0)
    assert new.table is NEW_TABLE
    legacy = FramesizeLearner(settle=0.5)
    _learn(legacy, 9, (800, 600), 0.0)
    assert legacy.table is LEGACY_TABLE
    # 96X96 and QQVGA have the same numbers in both: nothing to learn.
    same = FramesizeLearner(settle=0.5)
    _learn(same, 1, (160, 120), 0.0)
    assert not same.learned and same.table_or_guess() is NEW_TABLE
    # A size neither table has at that number teaches nothing either.
    odd = FramesizeLearner(settle=0.5)
    _learn(odd, 11, (640, 480), 0.0)
    assert not odd.learned


def test_learner_never_pairs_a_number_with_frames_of_another_moment() -> None:
    # The board (new table) was at SVGA (11, 800x600); someone sets HVGA (9) and /status says
    # 9 while frames of the old size are still arriving: (9, 800x600) would read as legacy.
    learner = FramesizeLearner(settle=0.5)
    for i in range(20):
        learner.on_frame_size((800, 600), i * 0.05)
    learner.on_status(9, 1.0, 1.01)
    for i in range(20, 24):
        learner.on_frame_size((800, 600), i * 0.05)
    for i in range(24, 60):
        learner.on_frame_size((480, 320), i * 0.05)
    assert not learner.learned
    # The frame size changed elsewhere after our last read (still says 11): (11, 480x320)
    # must not count either; the read that follows the change does.
    learner.on_status(11, 0.5, 0.51)
    for i in range(60, 80):
        learner.on_frame_size((480, 320), i * 0.05)
    assert not learner.learned
    learner.on_status(9, 4.0, 4.01)
    for i in range(80, 100):
        learner.on_frame_size((480, 320), i * 0.05)
    assert learner.table is NEW_TABLE


def test_learner_reports_size_changes_and_ignores_bad_status() -> None:
    learner = FramesizeLearner()
    assert learner.on_frame_size((800, 600), 0.0) == (True, False)
    assert learner.on_frame_size((800, 600), 0.1) == (False, False)
    learner.on_status("11", 0.2, 0.2)
    learner.on_status(True, 0.2, 0.2)
    learner.on_status(-1, 0.2, 0.2)
    assert learner.on_frame_size((800, 600), 5.0) == (False, False)
    assert learner.on_frame_size((320, 240), 5.1) == (True, False)
