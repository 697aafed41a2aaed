"""The control settings of one camera: where its control server is and how patiently to talk.

``control_url`` is a camera-level key of ``[[cameras]]``; the timings are
``[cameras.control]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, Field

from ..common.settings import SECTION, http_url

Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]


@dataclass(frozen=True)
class ControlConfig:
    __pydantic_config__ = SECTION

    # The board's control server; None: the stream's host on port 80
    url: Annotated[str | None, AfterValidator(http_url)] = None
    deadline: Positive = 5.0  # seconds from request to its final answer
    attempt_timeout: Positive = 2.0  # one HTTP exchange with the board
    retry_min: NonNegative = 0.05  # backoff between attempts, with full jitter
    retry_max: NonNegative = 1.0
    # The board refusing a value is rarely transient
    max_5xx_retries: Annotated[int, Field(ge=0)] = 2
    hold: NonNegative = 0.1  # at most one request per variable per this many seconds
    refresh_max_delay: NonNegative = 1.0
    poll_interval: Positive = 10.0
    breaker_threshold: Annotated[int, Field(ge=1)] = 3  # consecutive failed attempts
    probe_min: Positive = 0.25  # background /status probe while the breaker is open
    probe_max: Positive = 5.0
    # Requests waiting per camera; past it, busy. A bound on memory under a flood, not a
    # traffic limit: the queue holds one entry per variable however many wait on it, and
    # each viewer's channel limits its own different requests. 512 refused the newest
    # value of a variable just sent while ten viewers' slider values waited elsewhere.
    max_waiters: Annotated[int, Field(ge=1)] = 65536
