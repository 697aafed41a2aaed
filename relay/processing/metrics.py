"""Prometheus text for the processor chains: each stage's time per frame, errors, on/off."""

from __future__ import annotations

from collections.abc import Iterable

from .service import CameraProcessing


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def metrics_text(cameras: Iterable[CameraProcessing]) -> str:
    """Prometheus text for every stage of every camera: time per frame, errors, on/off."""
    quantiles: list[str] = []
    counts: list[str] = []
    errors: list[str] = []
    enabled: list[str] = []
    for proc in cameras:
        for stage in proc.chain.stages:
            labels = f'camera="{_label(proc.camera)}",processor="{_label(stage.id)}"'
            summary = stage.timer.summary_ms()
            for q, key in (("0.5", "p50"), ("0.95", "p95"), ("0.99", "p99")):
                v = summary[key]
                if v is not None:
                    quantiles.append(
                        f'esp32_relay_processor_seconds{{{labels},quantile="{q}"}} {v / 1000:.6f}'
                    )
            counts.append(f"esp32_relay_processor_seconds_count{{{labels}}} {summary['count']}")
            errors.append(f"esp32_relay_processor_errors_total{{{labels}}} {stage.timer.errors}")
            enabled.append(f"esp32_relay_processor_enabled{{{labels}}} {int(stage.enabled)}")
    return "\n".join(
        [
            "# HELP esp32_relay_processor_seconds Time a processor takes per frame.",
            "# TYPE esp32_relay_processor_seconds summary",
            *quantiles,
            *counts,
            "# HELP esp32_relay_processor_errors_total Frames on which a processor raised.",
            "# TYPE esp32_relay_processor_errors_total counter",
            *errors,
            "# HELP esp32_relay_processor_enabled Whether a processor is switched on.",
            "# TYPE esp32_relay_processor_enabled gauge",
            *enabled,
            "",
        ]
    )
