"""The simulated board each test of the simulator talks to."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from relay.simulator import SimulatedCamera

from .wire import simulator


@pytest.fixture
async def cam() -> AsyncIterator[SimulatedCamera]:
    async with simulator() as c:
        yield c
