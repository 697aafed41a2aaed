"""The chain: output checked, each stage timed."""

from __future__ import annotations

from typing import Any

from relay.processing.service import CameraProcessing

from .stages import USER, H, W, frame, spec


def test_a_processor_returning_something_else_than_an_image_is_disabled() -> None:
    installed: list[Any] = []
    proc = CameraProcessing("cam", [spec(f"{USER}:NotAnImage")], installed.append)
    out = installed[-1](frame())
    assert out.shape == (H, W, 3)
    stage = proc.chain.get("not_an_image")
    assert stage is not None and not stage.enabled and "HxWx3" in (stage.error or "")
    assert installed[-1] is None


def test_each_stage_is_timed() -> None:
    installed: list[Any] = []
    proc = CameraProcessing("cam", [spec("grayscale"), spec("edges")], installed.append)
    for _ in range(7):
        installed[-1](frame())
    for stage in proc.describe():
        assert stage["ms"]["count"] == 7 and stage["ms"]["p50"] >= 0
    edges = proc.chain.get("edges")
    assert edges is not None
    buckets, total = edges.timer.histogram()
    assert buckets[-1] == ("+Inf", 7) and total > 0
    counts = [n for _, n in buckets]
    assert counts == sorted(counts)  # cumulative, as Prometheus reads them
