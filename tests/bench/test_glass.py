"""The glass-to-glass benchmark page reads latency from frames Chromium shows."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import Browser

from bench.glass import measure_glass, page_url, window_stats
from relay.simulator import SimulatedCamera, SimulatorOptions
from relay.testing.relay import running_relay


@pytest.mark.network
@pytest.mark.browser
async def test_whep_latency_through_the_relay(browser: Browser) -> None:
    async with running_relay() as relay:
        result = await measure_glass(
            None, "whep", relay.whep(), warmup_s=1.0, duration_s=5.0, browser=browser
        )
    assert (result["width"], result["height"]) == (800, 600)
    assert result["frames"] > 50, result
    assert 0 < result["p50"] < 500, result
    assert result["p50"] <= result["p95"] <= result["p99"], result
    assert result["bad"] == 0 and result["bad_total"] == 0, (
        json.dumps(result["bad_frames"]),
        result["first_frame_ms"],
    )
    # An unpainted canvas is only ever the session's first callback, before any frame.
    assert all(t <= result["first_frame_ms"] for t in result["blank_at"]), result["blank_at"]
    assert len(result["blank_at"]) <= 1 and result["raced"] <= 5, result
    # The frame's arrival precedes its display.
    assert result["received"]["p50"] <= result["p50"], result
    assert result["first10"]["frames"] >= result["frames"], result


@pytest.mark.network
@pytest.mark.browser
async def test_mjpeg_in_img_from_the_simulator(browser: Browser) -> None:
    options = SimulatorOptions(host="127.0.0.1", control_port=0, stream_port=0)
    async with SimulatedCamera(options) as camera:
        result = await measure_glass(
            None, "mjpeg", camera.stream_url, warmup_s=1.0, duration_s=2.0, browser=browser
        )
    assert result["frames"] > 30, result
    assert 0 < result["p50"] < 500, result
    assert result["bad"] == 0, result


def test_window_stats_counts_frames_drops_and_bad_reads_in_the_window() -> None:
    samples = [
        {"counter": 65534, "latency_ms": 10.0, "t": 900},  # before the window
        {"counter": 65535, "latency_ms": 20.0, "t": 1000},
        {"counter": 0, "latency_ms": 30.0, "t": 1040},
        {"counter": 3, "latency_ms": 40.0, "t": 1160},  # 1 and 2 never shown
        {"counter": 4, "latency_ms": 50.0, "t": 1999},
        {"counter": 5, "latency_ms": 60.0, "t": 2000},  # after it
    ]
    stats = window_stats(samples, [950, 1500, 2500], 1000.0, 2000.0)
    assert stats["frames"] == 4
    assert stats["fps"] == 4.0
    assert stats["bad"] == 1
    assert stats["dropped"] == 2
    assert stats["p50"] == 35.0
    assert stats["mean"] == 35.0
    assert (stats["min"], stats["max"]) == (20.0, 50.0)
    empty = window_stats(samples, [], 5000.0, 6000.0)
    assert empty["frames"] == 0 and empty["p50"] is None


def test_page_url_rejects_unknown_modes() -> None:
    url = page_url("http://127.0.0.1:1/", "whep", "http://127.0.0.1:2/whep?a=b")
    assert url == (
        "http://127.0.0.1:1/g2g.html?mode=whep&endpoint=http%3A%2F%2F127.0.0.1%3A2%2Fwhep%3Fa%3Db"
    )
    with pytest.raises(ValueError):
        page_url("http://127.0.0.1:1", "rtsp", "x")
