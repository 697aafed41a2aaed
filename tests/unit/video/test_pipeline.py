"""The pipeline's worker: the processor chain is timed apart from decoding."""

from __future__ import annotations

import time

from relay.processing.service import CameraProcessing
from relay.video.pipeline import CameraPipeline
from tests.unit.processing.stages import frame, spec


def test_pipeline_times_the_chain_separately() -> None:
    import cv2

    from relay.ingest.jpeg import JpegFrame
    from relay.video.config import EncoderConfig

    pipeline = CameraPipeline("t", EncoderConfig())
    try:
        proc = CameraProcessing("t", [spec("resize", params={"width": 160})])
        pipeline.processor = proc.chain
        ok, jpeg = cv2.imencode(".jpg", frame())
        assert ok
        result = pipeline._work(JpegFrame(jpeg.tobytes(), 1, time.perf_counter()), 0, True)
        assert result is not None and (result.width, result.height) == (160, 120)
        assert 0 < result.processing < result.decoded - result.started
    finally:
        pipeline.close()
