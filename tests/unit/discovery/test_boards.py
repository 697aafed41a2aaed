"""Boards from /status answers, and the [[cameras]] blocks that name them."""

from __future__ import annotations

import tomllib

import pytest

from relay.config import from_mapping
from relay.discovery.boards import (
    MAX_HOSTS,
    Board,
    camera_block,
    camera_name,
    hosts,
    looks_like_board,
)


def test_only_the_stock_firmware_status_is_a_board() -> None:
    assert looks_like_board({"framesize": 11, "quality": 12, "xclk": 20, "led_intensity": 0})
    assert not looks_like_board({"framesize": 11})  # some other device's JSON
    assert not looks_like_board(["framesize", "quality", "xclk"])
    assert not looks_like_board(None)


def test_blocks_are_ready_configuration() -> None:
    boards = [
        Board("192.168.1.40", framesize=11),
        Board("192.168.1.41", 8080, name="esp32-cam porch.local", via="mdns"),
        Board("fd00::7"),
    ]
    text = "\n".join(camera_block(b) for b in boards)
    cfg = from_mapping(tomllib.loads(text))
    assert [c.name for c in cfg.cameras] == [
        "board-192.168.1.40",
        "esp32-cam-porch",
        "board-fd00-7",
    ]
    assert cfg.cameras[0].stream.url == "http://192.168.1.40:81/stream"
    assert cfg.cameras[0].resolved_control_url() == "http://192.168.1.40"
    assert cfg.cameras[1].control.url == "http://192.168.1.41:8080"
    assert cfg.cameras[2].stream.url == "http://[fd00::7]:81/stream"
    assert "found by mdns at 192.168.1.41" in text and "framesize 11" in text
    assert camera_name(Board("10.0.0.1", name="...")) == "board"


def test_ranges_are_bounded_and_checked() -> None:
    assert list(hosts("10.0.0.0/30")) == ["10.0.0.1", "10.0.0.2"]
    assert list(hosts("10.0.0.7")) == ["10.0.0.7"]
    assert len(list(hosts("10.0.0.0/20"))) == MAX_HOSTS - 2
    with pytest.raises(ValueError, match="at most 4096"):
        list(hosts("10.0.0.0/16"))
    with pytest.raises(ValueError, match="not a network"):
        list(hosts("10.0.0.0/33"))
