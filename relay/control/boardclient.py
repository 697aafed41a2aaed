"""One board's control server over HTTP: a kept-alive connection, retries, a breaker.

The board's httpd has few sockets, so this holds one connection (kept alive) and
makes one GET at a time. :meth:`BoardClient.exchange` retries connection errors,
timeouts and 5xx answers with capped exponential backoff and jitter until a
deadline; every attempt feeds the circuit breaker, and once it opens no retry is
made (the forwarder's probe takes over).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from yarl import URL

from ..common.backoff import Backoff
from ..common.stats import LatencyRecorder
from .breaker import Breaker
from .config import ControlConfig

MAX_BODY = 64 * 1024  # /status of a 5 MP sensor is a few kB
MAX_STATUS_KEYS = 1000


@dataclass(frozen=True)
class Failure:
    """An attempt or a request that failed, with the reply code and message it gets."""

    error: str
    message: str


@dataclass(frozen=True)
class Reply:
    """What the board answered to one GET."""

    status: int
    body: bytes
    sent_at: float
    received_at: float


@dataclass
class ForwarderStats:
    control_requests: int = 0  # GET /control sent to the board, retries included
    status_requests: int = 0  # GET /status sent (reads, refreshes, polls, probes)
    probes: int = 0
    retries: int = 0
    busy: int = 0
    timeouts: int = 0  # requests answered `timeout`
    breaker_opened: int = 0
    exchange: LatencyRecorder = field(default_factory=LatencyRecorder)  # one HTTP exchange

    def as_dict(self) -> dict[str, Any]:
        return {
            "control_requests": self.control_requests,
            "status_requests": self.status_requests,
            "probes": self.probes,
            "retries": self.retries,
            "busy": self.busy,
            "timeouts": self.timeouts,
            "breaker_opened": self.breaker_opened,
            "exchange_ms": self.exchange.summary_ms(),
        }


class BoardClient:
    """HTTP to one board's control server; every attempt counts in ``stats`` and ``breaker``."""

    def __init__(
        self, base_url: str, cfg: ControlConfig, stats: ForwarderStats, rng: random.Random
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.cfg = cfg
        self.stats = stats
        self.breaker = Breaker(cfg.breaker_threshold)
        self._rng = rng
        self._session: aiohttp.ClientSession | None = None

    def open(self) -> None:
        # One connection, kept alive: the board has few sockets to spare.
        connector = aiohttp.TCPConnector(limit=1, keepalive_timeout=5.0)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None),
            headers={"User-Agent": "esp32-relay"},
            auto_decompress=False,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def control_url(self, var: str, val: int) -> URL:
        return URL(f"{self.base_url}/control?var={var}&val={val}", encoded=True)

    def status_url(self) -> URL:
        return URL(f"{self.base_url}/status", encoded=True)

    async def exchange(self, url: URL, deadline: float, *, control: bool) -> Reply | Failure:
        """Attempts until an answer, the deadline, or the breaker opens."""
        backoff = Backoff(self.cfg.retry_min, self.cfg.retry_max)
        rejected = 0
        last: Failure | None = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return last or Failure("timeout", "the deadline passed before it could be sent")
            result = await self.attempt(
                url, min(self.cfg.attempt_timeout, remaining), control=control
            )
            if isinstance(result, Reply):
                if result.status < 500 or rejected >= self.cfg.max_5xx_retries:
                    return result
                rejected += 1
                last = Failure("camera_rejected", f"the camera answered HTTP {result.status}")
            else:
                last = result
                if self.breaker.is_open:
                    return last
            delay = backoff.next_delay(self._rng)
            if time.monotonic() + delay >= deadline:
                return last
            self.stats.retries += 1
            await asyncio.sleep(delay)

    async def attempt(self, url: URL, timeout: float, *, control: bool) -> Reply | Failure:
        """One GET; updates the breaker. Any HTTP answer means the board is reachable."""
        assert self._session is not None
        if control:
            self.stats.control_requests += 1
        else:
            self.stats.status_requests += 1
        sent_at = time.monotonic()
        try:
            async with (
                asyncio.timeout(timeout),
                self._session.get(url, allow_redirects=False) as resp,
            ):
                body = await resp.content.read(MAX_BODY + 1)
                status = resp.status
        except TimeoutError:
            self.breaker.failure()
            return Failure("timeout", f"the camera did not answer within {timeout:.1f} s")
        except (aiohttp.ClientError, OSError) as exc:
            self.breaker.failure()
            text = str(exc) or type(exc).__name__
            return Failure("camera_unreachable", f"cannot reach the camera: {text}")
        received_at = time.monotonic()
        self.stats.exchange.add(received_at - sent_at)
        self.breaker.success()
        return Reply(status, body, sent_at, received_at)

    @staticmethod
    def parse_status(reply: Reply) -> dict[str, Any] | Failure:
        if reply.status != 200:
            return Failure("camera_rejected", f"/status answered HTTP {reply.status}")
        if len(reply.body) > MAX_BODY:
            return Failure("camera_rejected", "/status is too large")
        try:
            data = json.loads(reply.body)
        except (ValueError, UnicodeDecodeError):
            return Failure("camera_rejected", "/status is not JSON")
        if not isinstance(data, dict) or len(data) > MAX_STATUS_KEYS:
            return Failure("camera_rejected", "/status is not a JSON object")
        return data
