"""A camera's control service: state pushed after changes, the framesize table learned."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import replace

import pytest

from relay.control.service import CameraControl
from relay.simulator import SimulatedCamera, SimulatorOptions

from .simboard import FAST, wait_for


async def test_camera_control_pushes_state_after_changes_and_polls() -> None:
    opts = SimulatorOptions(control_port=0, stream_port=0)
    async with SimulatedCamera(opts) as sim:
        control = CameraControl("cam", sim.control_url, replace(FAST, poll_interval=0.3))
        await control.start()
        states: list[dict] = []
        unsubscribe = control.subscribe(states.append)
        try:
            assert states[0]["op"] == "state" and states[0]["camera"] == {}
            await wait_for(lambda: states[-1]["camera"].get("brightness") == 0, 2.0)
            reply = await control.handle({"op": "set", "var": "vflip", "val": 1})
            assert reply == {"ok": True, "var": "vflip", "val": 1}
            await wait_for(lambda: states[-1]["applied"] == {"vflip": 1}, 1.0)
            # Changed elsewhere (the board's own page): the slow poll finds it.
            assert sim.control("saturation", "-2") == 200
            await wait_for(lambda: states[-1]["camera"].get("saturation") == -2, 2.0)
            bad = await control.handle({"op": "set", "var": "saturation", "val": 3})
            assert bad["error"] == "invalid" and "within -2..2" in bad["message"]
            got = await control.handle({"op": "get"})
            assert got["ok"] and got["camera"]["saturation"] == -2
            assert got["framesizes"]["sizes"][11]["name"] == "SVGA"
        finally:
            unsubscribe()
            await control.stop()
        assert control.subscribers == 0


@pytest.mark.parametrize("legacy", [False, True])
async def test_framesize_table_is_learned_from_status_and_frames(legacy: bool) -> None:
    from relay.ingest.config import StreamConfig
    from relay.ingest.jpeg import JpegFrame

    opts = SimulatorOptions(
        control_port=0, stream_port=0, legacy_framesize_enum=legacy, fps=15, framesize=None
    )
    async with SimulatedCamera(opts) as sim:
        control = CameraControl("cam", sim.control_url, FAST, settle=0.3)
        await control.start()
        from relay.ingest.stream import StreamConnection

        def on_frame(jpeg: JpegFrame) -> None:
            control.on_jpeg(jpeg.data, time.monotonic())

        ingest = StreamConnection("cam", StreamConfig(url=sim.stream_url), on_frame)
        task = asyncio.create_task(ingest.run())
        try:
            await wait_for(lambda: control.learner.learned, 5.0)
            assert control.learner.table is not None
            assert control.learner.table.name == ("legacy" if legacy else "new")
            reply = await control.handle({"op": "set", "var": "framesize", "val": "QVGA"})
            assert reply["ok"] and reply["val"] == (5 if legacy else 6)
            await wait_for(lambda: control.learner.frame_size == (320, 240), 3.0)
            assert sim.frame_size == (320, 240)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await control.stop()
