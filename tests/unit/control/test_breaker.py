"""The control server's circuit breaker."""

from __future__ import annotations

from relay.control.breaker import Breaker


def test_breaker_opens_after_consecutive_failures_only() -> None:
    b = Breaker(threshold=3)
    assert not b.failure() and not b.failure()
    assert not b.success()  # an answer resets the count
    assert not b.failure() and not b.failure()
    assert b.failure() and b.is_open and b.opened == 1
    assert not b.failure()  # already open
    assert b.success() and not b.is_open
