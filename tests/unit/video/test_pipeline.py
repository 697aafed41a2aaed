"""The pipeline: the processor chain is timed apart from decoding; when the placeholder
takes over."""

from __future__ import annotations

import asyncio
import contextlib
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
        plan = [(layer, True) for layer in pipeline.layers]
        result = pipeline._work(JpegFrame(jpeg.tobytes(), 1, time.perf_counter()), 0, plan)
        assert result is not None
        assert [(o.width, o.height) for o in result.outputs] == [(160, 120), (80, 60)]
        assert 0 < result.processing < result.decoded - result.started
    finally:
        pipeline.close()


async def _frames_until_placeholder(pipeline: CameraPipeline, lose_link: bool) -> float:
    """Feed 25 fps camera frames, stop; seconds from the last frame to the placeholder."""
    import cv2

    from relay.ingest.jpeg import JpegFrame
    from relay.video.pipeline import PLACEHOLDER_SEQ

    ok, jpeg = cv2.imencode(".jpg", frame())
    assert ok
    sub = pipeline.fanout.subscribe()
    # The first frame waits in the slot: with none yet, the placeholder would come first.
    pipeline.submit(JpegFrame(jpeg.tobytes(), 1, time.perf_counter()))
    task = asyncio.create_task(pipeline.run())
    try:
        for seq in range(1, 11):  # one at a time, so none is replaced in the slot
            if seq > 1:
                pipeline.submit(JpegFrame(jpeg.tobytes(), seq, time.perf_counter()))
            got = await asyncio.wait_for(sub.get(), 2)
            assert got.seq == seq
            await asyncio.sleep(0.03)
        stopped = time.monotonic()
        if lose_link:
            pipeline.link_lost()
        got = await asyncio.wait_for(sub.get(), 3)
        assert got.seq == PLACEHOLDER_SEQ
        return time.monotonic() - stopped
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sub.close()


async def test_a_closed_connection_shows_the_placeholder_at_once() -> None:
    from relay.video.config import EncoderConfig
    from relay.video.pipeline import PLACEHOLDER_AFTER_LOST

    pipeline = CameraPipeline("t", EncoderConfig())
    try:
        after = await _frames_until_placeholder(pipeline, lose_link=True)
        # Within 250 ms of the close, however long the stall threshold is.
        assert after + 0.01 >= PLACEHOLDER_AFTER_LOST and after < 0.25, after
    finally:
        pipeline.close()


async def test_a_connection_that_stays_open_gets_the_longer_threshold() -> None:
    from relay.video.config import EncoderConfig
    from relay.video.pipeline import PLACEHOLDER_AFTER

    pipeline = CameraPipeline("t", EncoderConfig())
    try:
        after = await _frames_until_placeholder(pipeline, lose_link=False)
        assert PLACEHOLDER_AFTER - 0.05 <= after < PLACEHOLDER_AFTER + 0.5, after
    finally:
        pipeline.close()
