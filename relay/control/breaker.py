"""The circuit breaker of one board's control server. Pure: no I/O, no clock."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Breaker:
    """Opens after ``threshold`` consecutive failed attempts; a successful answer closes it.

    Any HTTP answer counts as success (the board is reachable, even when it
    refuses a value); connection errors and timeouts count as failures.
    """

    threshold: int = 3
    failures: int = 0
    is_open: bool = False
    opened: int = 0  # times it opened

    def failure(self) -> bool:
        """Record a failed attempt; True when this one opened the breaker."""
        self.failures += 1
        if not self.is_open and self.failures >= self.threshold:
            self.is_open = True
            self.opened += 1
            return True
        return False

    def success(self) -> bool:
        """Record an answer; True when this one closed the breaker."""
        was_open = self.is_open
        self.failures = 0
        self.is_open = False
        return was_open
