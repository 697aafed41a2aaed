"""Reading a JPEG's size from its header."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay.ingest.jpeg import jpeg_size


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
