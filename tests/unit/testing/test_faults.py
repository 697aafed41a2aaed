"""The fault rig's frame check: camera frames in order, damaged codes found and counted."""

from __future__ import annotations

import time

import pytest

from relay.testing.faults import check_frames
from relay.testing.whep import ReceivedFrame
from relay.video.framecode import TIME_MODULO


def _frames(counters: list[int]) -> list[ReceivedFrame]:
    now = time.time()
    out = []
    for i, c in enumerate(counters):
        arrived = now + i * 0.04
        send_ms = int(arrived * 1000 - 30) % TIME_MODULO
        out.append(ReceivedFrame(800, 600, c, send_ms, arrived, False, -1.0))
    return out


def test_frames_in_order_pass() -> None:
    assert check_frames(_frames([10, 11, 12, 14, 15])) == (5, 0)


@pytest.mark.parametrize("damaged", [2088, 2080, 9])
def test_a_damaged_counter_that_still_looks_plausible_is_one_bad_frame(damaged: int) -> None:
    frames = _frames([2083, 2084, damaged, 2085, 2086])
    assert check_frames(frames, tolerate=1) == (4, 0)
    with pytest.raises(AssertionError):
        check_frames(frames, tolerate=0)  # it is counted, not ignored


def test_frames_really_out_of_order_fail() -> None:
    with pytest.raises(AssertionError, match="out of order"):
        check_frames(_frames([10, 11, 12, 5, 6, 7]), tolerate=2)
