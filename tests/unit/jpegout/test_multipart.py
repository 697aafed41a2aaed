from __future__ import annotations

import pytest

from relay.jpegout.multipart import BOUNDARY, RateCap, parse_fps, parse_max_age, part


def test_a_part_carries_its_length_and_the_jpeg_untouched() -> None:
    jpeg = b"\xff\xd8" + bytes(range(256)) * 4 + b"--" + BOUNDARY.encode() + b"\xff\xd9"
    out = part(jpeg)
    head, body = out.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    assert lines[0] == f"--{BOUNDARY}"
    assert "Content-Type: image/jpeg" in lines
    assert f"Content-Length: {len(jpeg)}" in lines
    assert body == jpeg + b"\r\n"


@pytest.mark.parametrize(
    ("text", "want"), [(None, None), ("", None), ("5", 5.0), ("0.5", 0.5), ("60", 60.0)]
)
def test_fps(text: str | None, want: float | None) -> None:
    assert parse_fps(text) == want


@pytest.mark.parametrize("text", ["0", "-1", "61", "nan", "fast", "inf"])
def test_bad_fps_says_what_is_allowed(text: str) -> None:
    with pytest.raises(ValueError, match="fps must"):
        parse_fps(text)


def test_max_age() -> None:
    assert parse_max_age(None, 5.0) == 5.0
    assert parse_max_age("0.25", 5.0) == 0.25
    for bad in ("0", "-3", "86401", "soon", "nan"):
        with pytest.raises(ValueError, match="max_age must"):
            parse_max_age(bad, 5.0)


def test_rate_cap_holds_its_average_without_a_catch_up_burst() -> None:
    cap = RateCap(4.0)
    sent = []
    t = 0.0
    while t < 10.0:  # a camera at 25 fps
        if cap.wait(t) == 0:
            cap.sent(t)
            sent.append(t)
        t += 0.04
    assert 39 <= len(sent) <= 41
    # A pause of 3 s: afterwards no burst, one frame then the period again.
    cap.sent(20.0)
    assert cap.wait(20.1) > 0 and cap.wait(20.25) == 0


def test_no_cap() -> None:
    cap = RateCap(None)
    cap.sent(1.0)
    assert cap.wait(1.0) == 0
