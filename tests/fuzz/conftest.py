"""One relay for all the fuzz tests of a module: starting one per example would test start-up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from relay.testing.env import netns_missing_reason, skip_or_fail
from tests.fuzz.threaded import ThreadedRelay, threaded_relay


@pytest.fixture(scope="module")
def live() -> Iterator[ThreadedRelay]:
    reason = netns_missing_reason()
    if reason is not None:
        skip_or_fail(reason)
    with threaded_relay() as r:
        yield r
