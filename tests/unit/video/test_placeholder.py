"""The placeholder viewers see while their camera is away."""

from __future__ import annotations

import time

import numpy as np

from relay.video.framecode import read_code
from relay.video.placeholder import (
    DEFAULT_SIZE,
    PLACEHOLDER_CODE,
    AwayInfo,
    Placeholder,
    banner_text,
)


def test_banner_says_what_happened_and_since_when() -> None:
    since = time.mktime((2026, 1, 2, 3, 4, 5, 0, 0, -1))
    assert banner_text(AwayInfo(False, 3, since)) == (
        "camera offline, reconnecting, attempt 3, since 03:04:05"
    )
    assert banner_text(AwayInfo(True, 0, since)) == "camera not sending, waiting, since 03:04:05"


def test_placeholder_is_the_dimmed_last_frame_with_a_marked_code() -> None:
    p = Placeholder()
    dark = p.render(AwayInfo(False, 1, time.time()))
    assert dark.shape == (DEFAULT_SIZE[1], DEFAULT_SIZE[0], 3)
    assert read_code(dark) == PLACEHOLDER_CODE
    assert int(dark[-20:].mean()) < 40  # dark apart from the banner
    banner_row = dark[dark.shape[0] // 2]
    assert banner_row.max() == 255  # white text across the middle

    last = np.full((240, 320, 3), 200, np.uint8)
    p.remember(last)
    img = p.render(AwayInfo(False, 2, time.time()))
    assert img.shape == last.shape  # the camera's size: the encoder is kept
    assert read_code(img) == PLACEHOLDER_CODE
    assert 60 <= int(img[-10:].mean()) <= 80  # 200 dimmed to about a third
    assert (last == 200).all()  # the remembered frame is never written to


def test_a_real_cameras_placeholder_has_no_code_strip() -> None:
    p = Placeholder(mark=False)
    last = np.full((240, 320, 3), 200, np.uint8)
    p.remember(last)
    img = p.render(AwayInfo(False, 2, time.time()))
    assert read_code(img) != PLACEHOLDER_CODE
    # The top rows are the dimmed picture, not black and white blocks.
    assert int(img[:4].min()) >= 60 and int(img[:4].max()) <= 80
