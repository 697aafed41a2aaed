"""The effective configuration as a file, secrets masked; the file's JSON Schema."""

from __future__ import annotations

import tomllib
from pathlib import Path

import jsonschema
import pytest

from relay.config import from_mapping, load_toml
from relay.settings.command import config_command
from relay.settings.show import MASK, json_schema, masked, show

EXAMPLE = Path(__file__).parents[3] / "deploy" / "relay.toml"
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
SECRET_CONFIG = {
    "cameras": [{"name": "g", "url": "http://admin:hunter2@10.0.0.5:81/stream"}],
    "auth": {
        "users": [{"name": "alice", "password_hash": HASH, "role": "operator"}],
        "tokens": [{"name": "kiosk", "token": "t" * 20, "cameras": ["g"]}],
    },
    "ice": {
        "servers": [{"urls": "turn:t:3478", "username": "u", "credential": "pw"}],
        "turn_rest": {"urls": "turn:t:3478", "secret": "s3cret"},
    },
}


def test_show_is_the_file_it_came_from() -> None:
    cfg = load_toml(EXAMPLE)
    text = show(cfg)
    assert from_mapping(tomllib.loads(text)) == cfg
    data = tomllib.loads(text)
    assert data["cameras"][0]["url"] == "http://192.168.1.40:81/stream"
    assert "stream" not in data["cameras"][0]


def test_show_masks_every_secret() -> None:
    cfg = from_mapping(SECRET_CONFIG)
    text = show(cfg)
    for secret in ("hunter2", HASH, "t" * 20, "s3cret", '"pw"'):
        assert secret not in text
    data = tomllib.loads(text)
    assert data["auth"]["users"][0]["password_hash"] == MASK
    assert data["auth"]["users"][0]["role"] == "operator"
    assert data["cameras"][0]["url"] == f"http://admin:{MASK}@10.0.0.5:81/stream"
    assert data["ice"]["turn_rest"]["secret"] == MASK
    assert from_mapping(tomllib.loads(show(cfg, secrets=True))) == cfg
    assert masked({"token": ""}) == {"token": ""}  # nothing to hide
    assert masked({"url": "http://h/stream.mjpg?fps=5&token=abc"}) == {
        "url": f"http://h/stream.mjpg?fps=5&token={MASK}"
    }
    assert masked({"url": "http://u:p@[fd00::1]:81/stream"}) == {
        "url": f"http://u:{MASK}@[fd00::1]:81/stream"
    }


def test_the_schema_accepts_the_example_and_refuses_what_validation_refuses() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    validator.validate(tomllib.loads(EXAMPLE.read_text()))
    validator.validate(SECRET_CONFIG)
    for bad in (
        {"colour": 1},
        {"port": 70000},
        {"cameras": [{"url": "http://x/", "stream": {}}]},
        {"cameras": [{"url": "http://x/", "encoder": {"bitrate": 10}}]},
        {"auth": {"users": [{"name": "a", "password_hash": HASH, "role": "root"}]}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(bad)


def test_config_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    assert config_command(["check", str(EXAMPLE)]) == 0
    assert "3 camera(s): garage, porch, demo" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text("[[cameras]]\nname = 'x'\nurl = 'http://x/'\n[cameras.encoder]\nbitrate = 10\n")
    assert config_command(["check", str(bad)]) == 2
    assert "cameras[0].encoder.bitrate: must be >= 100000, got 10" in capsys.readouterr().err
    monkeypatch.setenv("ESP32_RELAY_PORT", "9001")
    assert config_command(["show", "--config", str(EXAMPLE), "--host", "127.0.0.1"]) == 0
    shown = tomllib.loads(capsys.readouterr().out)
    assert shown["port"] == 9001 and shown["host"] == "127.0.0.1"
    assert config_command(["schema"]) == 0
    assert '"title": "esp32-relay configuration"' in capsys.readouterr().out
    addresses = tmp_path / "addresses.toml"
    addresses.write_text('[ice]\naddresses = ["eht9"]\n')
    assert config_command(["check", str(addresses)]) == 2
    assert "no interface named 'eht9'" in capsys.readouterr().err
