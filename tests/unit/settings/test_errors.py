"""pydantic's errors as lines naming the key as written, the rule and the value."""

from __future__ import annotations

from relay.config import RelayConfig, file_path
from relay.settings.errors import allowed_keys, describe, path_text


def test_paths_read_as_written() -> None:
    assert path_text(("cameras", 1, "encoder", "bitrate")) == "cameras[1].encoder.bitrate"
    assert path_text(()) == ""
    assert file_path(("cameras", 0, "stream", "url")) == ("cameras", 0, "url")
    assert file_path(("cameras", 0, "control", "url")) == ("cameras", 0, "control_url")
    assert file_path(("cameras", 0, "control", "deadline")) == ("cameras", 0, "control", "deadline")


def test_allowed_keys_follow_the_file_shape() -> None:
    camera = allowed_keys(RelayConfig, ("cameras", 0), file_path)
    assert camera is not None
    assert {"url", "stall_timeout", "control_url", "control", "encoder"} <= set(camera)
    assert "stream" not in camera
    assert allowed_keys(RelayConfig, ("cameras", 0, "encoder")) == [
        "bitrate",
        "cpu_used",
        "keyframe_interval",
        "keyframe_min_gap",
        "threads",
    ]
    assert allowed_keys(RelayConfig, ("nowhere",)) is None


def test_each_kind_of_error() -> None:
    def line(kind: str, value: object, **ctx: object) -> str:
        return describe(
            {"type": kind, "loc": ("port",), "msg": "m", "input": value, "ctx": ctx}  # type: ignore[typeddict-item]
        )

    assert line("greater_than_equal", 3, ge=5) == "port: must be >= 5, got 3"
    assert line("less_than", 9.5, lt=9.0) == "port: must be < 9, got 9.5"
    assert line("missing", {}) == "port: is required"
    assert line("bool_parsing", "maybe") == "port: must be true or false, got 'maybe'"
    assert line("literal_error", "x", expected="'a' or 'b'") == "port: must be 'a' or 'b', got 'x'"
    assert line("value_error", "x", error="e") == "port: m, got 'x'"
    assert line("dict_type", [1, 2]) == "port: must be a table"  # no value printed: not a scalar
    assert line("int_type", True) == "port: must be a whole number, got true"
    assert line("someday_new", "x") == "port: m, got 'x'"
    long = line("string_type", "x" * 200)
    assert long.endswith("...") and len(long) < 100
