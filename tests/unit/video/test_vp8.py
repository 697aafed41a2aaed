"""The VP8 encoder's settings."""

from __future__ import annotations

from relay.video.vp8 import scaled_bitrate


def test_bitrate_scales_with_picture_area() -> None:
    assert scaled_bitrate(1_000_000, 800, 600) == 1_000_000
    assert scaled_bitrate(1_000_000, 1600, 1200) > 2_000_000
    assert scaled_bitrate(1_000_000, 320, 240) < 400_000
