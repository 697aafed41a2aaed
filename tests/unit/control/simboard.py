"""A simulated board for the control tests, and what its control server saw."""

from __future__ import annotations

import asyncio
import time

from relay.control.config import ControlConfig

FAST = ControlConfig(
    deadline=1.5,
    attempt_timeout=0.4,
    retry_min=0.02,
    retry_max=0.2,
    refresh_max_delay=0.5,
    probe_min=0.05,
    probe_max=0.3,
)


async def wait_for(cond, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
