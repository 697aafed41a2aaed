from __future__ import annotations

import json
import logging

import pytest

from relay.argv import config_from_argv
from relay.config import ConfigError
from relay.logs import JsonLines


def _record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            import sys

            exc_info = sys.exc_info()
    return logging.LogRecord("relay.x", logging.WARNING, __file__, 1, msg, args, exc_info)


def test_a_json_line_is_one_object_with_the_event() -> None:
    line = JsonLines().format(_record("camera %s: %s", "gate", 'say "hi"\nthere'))
    assert "\n" not in line
    event = json.loads(line)
    assert event["level"] == "WARNING" and event["logger"] == "relay.x"
    assert event["message"] == 'camera gate: say "hi"\nthere'
    assert event["time"].endswith("+00:00")


def test_an_exception_travels_in_the_same_line() -> None:
    event = json.loads(JsonLines().format(_record("failed", exc=True)))
    assert "ValueError: boom" in event["error"]


def test_the_log_format_is_checked() -> None:
    assert config_from_argv(["--log-format", "json"], env={}).log_format == "json"
    assert config_from_argv([], env={"ESP32_RELAY_LOG_FORMAT": "json"}).log_format == "json"
    with pytest.raises(ConfigError, match="log_format: must be 'text' or 'json', got 'xml'"):
        config_from_argv(["--log-format", "xml"], env={})
