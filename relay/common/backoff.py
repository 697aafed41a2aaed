"""Capped exponential backoff with full jitter, for reconnecting and retrying."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass
class Backoff:
    """Capped exponential backoff with full jitter; reset after a good connection."""

    minimum: float = 0.2
    maximum: float = 10.0
    attempt: int = 0

    def next_delay(self, rng: random.Random, ceiling: float | None = None) -> float:
        """The next wait; ``ceiling`` caps it below ``maximum`` for cheap retries."""
        cap = min(self.maximum, self.minimum * (2 ** min(self.attempt, 32)))
        if ceiling is not None:
            cap = min(cap, ceiling)
        self.attempt += 1
        return rng.uniform(self.minimum, max(self.minimum, cap))

    def reset(self) -> None:
        self.attempt = 0
