"""Capped exponential backoff with full jitter."""

from __future__ import annotations

import random

from relay.common.backoff import Backoff
from relay.ingest.stream import ANSWERED_RETRY_MAX


def test_backoff_grows_with_jitter_caps_and_resets() -> None:
    rng = random.Random(7)
    b = Backoff(0.2, 10.0)
    delays = [b.next_delay(rng) for _ in range(12)]
    assert all(0.2 <= d <= 10.0 for d in delays)
    assert max(delays[:2]) <= 0.4  # 0.2, then at most 0.4
    assert max(delays[8:]) > 2.0  # grown towards the cap
    assert len(set(delays)) == len(delays)  # jittered
    b.reset()
    assert b.next_delay(rng) == 0.2
    # A board that answers is retried soon, however many attempts failed.
    assert all(b.next_delay(rng, ANSWERED_RETRY_MAX) <= ANSWERED_RETRY_MAX for _ in range(50))
