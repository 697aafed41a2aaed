"""Latency samples and event rates."""

from __future__ import annotations

import pytest

from relay.common.stats import LatencyRecorder, RateMeter


def test_stats_helpers() -> None:
    rec = LatencyRecorder(size=4)
    for v in (0.001, 0.002, 0.003, 0.004, 0.010):
        rec.add(v)
    assert rec.count == 5
    summary = rec.summary_ms()
    assert summary["p50"] == 4.0 and summary["p99"] == 10.0  # only the last 4 kept
    meter = RateMeter(window=2.0)
    for i in range(11):
        meter.tick(100 + i * 0.1)
    assert meter.rate(101.0) == pytest.approx(10.0)
    assert meter.rate(200.0) == 0.0
