"""The environment and flags, layered on the file's mapping."""

from __future__ import annotations

import pytest

from relay.settings.layers import LayerError, Setting, apply, first_camera, from_environment

TOP = {"port", "host", "cameras", "ice", "log_level"}


def test_variables_name_paths() -> None:
    settings, ignored = from_environment(
        {
            "ESP32_RELAY_PORT": "9000",
            "ESP32_RELAY_LOG_LEVEL": "debug",
            "ESP32_RELAY_CAMERAS__0__ENCODER__BITRATE": "800000",
            "ESP32_RELAY_ICE__ADDRESSES": '["192.168.1.0/24"]',
            "ESP32_RELAY_CAMERA": "http://10.0.0.5:81/stream",
            "ESP32_RELAY_CONFIG": "/etc/esp32-relay/relay.toml",  # the command line's
            "ESP32_RELAY_CHROMIUM": "/usr/bin/chromium",  # not a setting
            "ESP32_RELAY_CAMERAS____URL": "x",  # an empty level
            "HOME": "/root",
        },
        TOP,
    )
    got = {s.path: s.value for s in settings}
    assert got == {
        ("port",): "9000",
        ("log_level",): "debug",
        ("cameras", 0, "encoder", "bitrate"): "800000",
        ("ice", "addresses"): ["192.168.1.0/24"],
        ("cameras", 0, "url"): "http://10.0.0.5:81/stream",
        ("cameras", 0, "simulate"): False,
    }
    assert ignored == ["ESP32_RELAY_CAMERAS____URL", "ESP32_RELAY_CHROMIUM"]


def test_apply_changes_adds_and_creates() -> None:
    raw = {"cameras": [{"name": "a", "url": "http://a/"}], "port": 1}
    out = apply(
        raw,
        [
            Setting(("cameras", 0, "encoder", "bitrate"), 5, "A"),
            Setting(("cameras", 1, "name"), "b", "B"),
            Setting(("port",), 2, "C"),
            Setting(("port",), 3, "D"),  # later wins
            Setting(("ice", "relay_only"), True, "E"),
        ],
    )
    assert out == {
        "cameras": [{"name": "a", "url": "http://a/", "encoder": {"bitrate": 5}}, {"name": "b"}],
        "port": 3,
        "ice": {"relay_only": True},
    }
    assert raw == {"cameras": [{"name": "a", "url": "http://a/"}], "port": 1}  # untouched
    assert apply({}, first_camera("url", "http://b/", "--camera")) == {
        "cameras": [{"url": "http://b/", "simulate": False}]
    }


@pytest.mark.parametrize(
    ("raw", "setting", "message"),
    [
        ({}, Setting(("cameras", 1, "url"), "u", "V"), "V: cameras has 0 entries; index 1"),
        ({"port": 1}, Setting(("port", "x"), "u", "V"), "V: port is not a table"),
        ({"cameras": {}}, Setting(("cameras", 0, "x"), "u", "V"), "V: cameras is not a list"),
    ],
)
def test_what_cannot_be_applied_is_named(raw: dict, setting: Setting, message: str) -> None:
    with pytest.raises(LayerError, match=message):
        apply(raw, [setting])


def test_a_toml_value_that_does_not_parse_is_named() -> None:
    with pytest.raises(LayerError, match="ESP32_RELAY_ICE__ADDRESSES: not a TOML list"):
        from_environment({"ESP32_RELAY_ICE__ADDRESSES": "[1,"}, TOP)
