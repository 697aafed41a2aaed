"""The relay's metrics for Prometheus, with the official client library.

A collector reads, at each scrape, the counters the parts keep anyway (the pipeline's,
the stream connection's, the control forwarder's, the processor chain's): nothing is
counted twice and no frame pays for a metric. Each application has a registry of its
own (no module-level state), with the client's process and platform collectors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from ..cameras import Camera
from ..common.stats import LatencyRecorder

PREFIX = "esp32_relay_"


class RelayCollector(Collector):
    """Every camera's figures, labelled by camera; ``viewers(name)``: its WebRTC viewers."""

    def __init__(self, cameras: Callable[[], Iterable[Camera]], viewers: Callable[[str], int]):
        self._cameras = cameras
        self._viewers = viewers

    def collect(self) -> Iterator[Metric]:
        cams = list(self._cameras())

        def counter(name: str, doc: str, value: Callable[[Camera], float]) -> Metric:
            m = CounterMetricFamily(PREFIX + name, doc, labels=["camera"])
            for c in cams:
                m.add_metric([c.name], value(c))
            return m

        yield counter(
            "frames_received",
            "JPEGs received from the board.",
            lambda c: c.pipeline.stats.frames_in,
        )
        yield counter(
            "frames_encoded",
            "Camera frames encoded for WebRTC viewers (all layers: once).",
            lambda c: c.pipeline.stats.frames_encoded,
        )
        yield counter(
            "frames_sent",
            "Frames handed to viewers' transports, per viewer.",
            lambda c: c.fanout.stats.delivery.count,
        )
        yield counter(
            "placeholder_frames",
            "Placeholder frames encoded while the camera was away.",
            lambda c: c.pipeline.stats.placeholders,
        )
        yield counter("keyframes", "Keyframes encoded.", lambda c: c.pipeline.stats.keyframes)
        yield counter(
            "encoded_bytes", "VP8 bytes encoded, all layers.", lambda c: c.pipeline.stats.bytes_out
        )
        yield counter(
            "stream_reconnects",
            "Stream connections to the board that ended.",
            lambda c: c.ingest.state.disconnects if c.ingest else 0,
        )
        yield counter(
            "stream_stalls",
            "Stream connections the stall watchdog closed.",
            lambda c: c.ingest.state.stalls if c.ingest else 0,
        )
        dropped = CounterMetricFamily(
            PREFIX + "frames_dropped", "Frames not shown, by reason.", labels=["camera", "reason"]
        )
        for c in cams:
            st = c.pipeline.stats
            reasons = {
                "busy": st.dropped_busy,
                "corrupt": st.dropped_corrupt,
                "idle": st.dropped_idle,
                "error": st.dropped_error,
                "invalid": c.ingest.state.dropped_invalid if c.ingest else 0,
                "oversize": c.ingest.state.dropped_oversize if c.ingest else 0,
            }
            for reason, n in reasons.items():
                dropped.add_metric([c.name, reason], n)
        yield dropped

        viewers = GaugeMetricFamily(
            PREFIX + "viewers", "Viewers now, by kind.", labels=["camera", "kind"]
        )
        connected = GaugeMetricFamily(
            PREFIX + "camera_connected",
            "Whether the board's stream is connected.",
            labels=["camera"],
        )
        bitrate = GaugeMetricFamily(
            PREFIX + "encoder_bitrate",
            "Each layer's encoder target (bits/s).",
            labels=["camera", "layer"],
        )
        for c in cams:
            viewers.add_metric([c.name, "webrtc"], self._viewers(c.name))
            viewers.add_metric([c.name, "mjpeg"], c.jpeg_clients)
            connected.add_metric([c.name], int(c.connected))
            for layer in c.pipeline.layers:
                rate = layer.encoder.bitrate
                if rate is not None:
                    bitrate.add_metric([c.name, layer.name], rate)
        yield viewers
        yield connected
        yield bitrate

        stages = HistogramMetricFamily(
            PREFIX + "stage_seconds",
            "Time of each step of a frame in the relay.",
            labels=["camera", "stage"],
        )
        for c in cams:
            st = c.pipeline.stats
            for step, rec in (
                ("wait", st.wait),
                ("decode", st.decode),
                ("process", st.process),
                ("encode", st.encode),
                # received -> a viewer's last packet of the frame handed to its transport
                ("to_viewer", c.fanout.stats.delivery),
            ):
                _histogram(stages, [c.name, step], rec)
        yield stages

        board = HistogramMetricFamily(
            PREFIX + "board_request_seconds",
            "One HTTP exchange with the board's control server.",
            labels=["camera"],
        )
        requests = CounterMetricFamily(
            PREFIX + "control_requests",
            "Control requests answered, by outcome (ok or the error code).",
            labels=["camera", "outcome"],
        )
        for c in cams:
            if c.control is None:
                continue
            _histogram(board, [c.name], c.control.forwarder.stats.exchange)
            for outcome, n in sorted(c.control.outcomes.items()):
                requests.add_metric([c.name, outcome], n)
        yield board
        yield requests

        seconds = HistogramMetricFamily(
            PREFIX + "processor_seconds",
            "Time a processor takes per frame.",
            labels=["camera", "processor"],
        )
        errors = CounterMetricFamily(
            PREFIX + "processor_errors",
            "Frames on which a processor raised.",
            labels=["camera", "processor"],
        )
        enabled = GaugeMetricFamily(
            PREFIX + "processor_enabled",
            "Whether a processor is switched on.",
            labels=["camera", "processor"],
        )
        for c in cams:
            for stage in c.processing.chain.stages:
                labels = [c.name, stage.id]
                buckets, total = stage.timer.histogram()
                seconds.add_metric(labels, buckets, total)
                errors.add_metric(labels, stage.timer.errors)
                enabled.add_metric(labels, int(stage.enabled))
        yield seconds
        yield errors
        yield enabled


def _histogram(family: HistogramMetricFamily, labels: list[str], rec: LatencyRecorder) -> None:
    buckets, total = rec.histogram()
    family.add_metric(labels, buckets, total)


def registry_for(
    cameras: Callable[[], Iterable[Camera]], viewers: Callable[[str], int]
) -> CollectorRegistry:
    """A registry of the relay's collector and the client's process and platform ones."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RelayCollector(cameras, viewers))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry
