"""The control settings of one camera: where its control server is and how patiently to talk.

``control_url`` is a camera-level key of ``[[cameras]]``; the timings are
``[cameras.control]``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ControlConfig:
    url: str | None = None  # the board's control server; None: the stream's host on port 80
    deadline: float = 5.0  # seconds from request to its final answer
    attempt_timeout: float = 2.0  # one HTTP exchange with the board
    retry_min: float = 0.05  # backoff between attempts, with full jitter
    retry_max: float = 1.0
    max_5xx_retries: int = 2  # the board refusing a value is rarely transient
    hold: float = 0.1  # at most one request per variable per this many seconds
    refresh_max_delay: float = 1.0
    poll_interval: float = 10.0
    breaker_threshold: int = 3  # consecutive failed attempts
    probe_min: float = 0.25  # background /status probe while the breaker is open
    probe_max: float = 5.0
    # Requests waiting per camera; past it, busy. A bound on memory under a flood, not a
    # traffic limit: the queue holds one entry per variable however many wait on it, and
    # each viewer's channel limits its own different requests. 512 refused the newest
    # value of a variable just sent while ten viewers' slider values waited elsewhere.
    max_waiters: int = 65536
