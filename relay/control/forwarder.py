"""One board's control requests: queued, coalesced, sent one at a time, retried, answered.

The board's control httpd handles one request at a time and has few sockets,
so each camera has one forwarder on its own HTTP connection to the control
port (never the stream connection) with at most one request in flight.
Every request handed to :meth:`Forwarder.set` or :meth:`Forwarder.read` gets
exactly one :class:`Outcome`, by its deadline:

- connection errors, timeouts and 5xx answers are retried with capped
  exponential backoff and jitter while the deadline allows (a 5xx, which the
  stock sketch sends for values its sensor refuses, only a few times);
- after ``breaker_threshold`` consecutive failed attempts the breaker opens:
  pending and new requests fail at once with ``camera_unreachable`` and
  nothing but a background probe of /status reaches the board, until the
  probe is answered;
- /status is read after applied sets (coalesced: once the queue is quiet,
  at the latest ``refresh_max_delay`` later) and every ``poll_interval``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..common.backoff import Backoff
from .boardclient import BoardClient, Failure, ForwarderStats
from .config import ControlConfig
from .requestqueue import CoalescingQueue, Entry, QueueFull

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """The final answer to one request."""

    ok: bool
    var: str | None = None
    val: int | None = None
    superseded: bool = False
    status: Mapping[str, Any] | None = None
    error: str | None = None  # camera_rejected, camera_unreachable, timeout, busy
    message: str = ""


Waiter = asyncio.Future[Outcome]
StatusCallback = Callable[[dict[str, Any], float, float], None]


class Forwarder:
    """Sends one board's control requests; see the module docstring for the rules."""

    def __init__(
        self,
        name: str,
        base_url: str,
        cfg: ControlConfig | None = None,
        *,
        on_applied: Callable[[str, int], None] | None = None,
        on_status: StatusCallback | None = None,
        on_reachable: Callable[[bool], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.cfg = cfg or ControlConfig()
        self.stats = ForwarderStats()
        self._on_applied = on_applied
        self._on_status = on_status
        self._on_reachable = on_reachable
        self._rng = rng or random.Random()
        self._queue: CoalescingQueue[Waiter] = CoalescingQueue(
            max_waiters=self.cfg.max_waiters,
            hold=self.cfg.hold,
            refresh_max_delay=self.cfg.refresh_max_delay,
        )
        self._board = BoardClient(self.base_url, self.cfg, self.stats, self._rng)
        self._breaker = self._board.breaker
        self._task: asyncio.Task[None] | None = None
        self._wakeup = asyncio.Event()
        self._expiry: asyncio.TimerHandle | None = None
        self._expiry_at: float | None = None
        self._last_status_at = -math.inf
        self.in_flight: str | None = None  # key being sent, for tests and /api
        # (monotonic time opened, time closed or None) of each breaker opening.
        self.breaker_history: list[tuple[float, float | None]] = []

    # ---- public

    @property
    def reachable(self) -> bool:
        return not self._breaker.is_open

    @property
    def pending(self) -> int:
        return self._queue.waiters

    async def start(self) -> None:
        if self._task is not None:
            return
        self._board.open()
        self._task = asyncio.create_task(self._run(), name=f"control-{self.name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._cancel_expiry()
        for entry in self._queue.drain():
            self._resolve_failure(entry, Failure("camera_unreachable", "the relay is stopping"))
        await self._board.close()

    def set(self, var: str, val: int) -> Waiter:
        """Queue ``var`` = ``val`` (already validated); the future is its outcome."""
        fut: Waiter = asyncio.get_running_loop().create_future()
        if self._fail_fast(fut):
            return fut
        now = time.monotonic()
        try:
            self._queue.put_set(var, val, fut, now, now + self.cfg.deadline)
        except QueueFull:
            self._busy(fut)
            return fut
        self._changed()
        return fut

    def read(self) -> Waiter:
        """Queue a /status read; the future's outcome carries the status."""
        fut: Waiter = asyncio.get_running_loop().create_future()
        if self._fail_fast(fut):
            return fut
        now = time.monotonic()
        try:
            self._queue.put_read(fut, now, now + self.cfg.deadline)
        except QueueFull:
            self._busy(fut)
            return fut
        self._changed()
        return fut

    def refresh(self) -> None:
        """Read /status soon, when nothing else waits."""
        if self._breaker.is_open:
            return  # the probe reads it
        self._queue.request_refresh(time.monotonic())
        self._wakeup.set()

    def info(self) -> dict[str, Any]:
        return {
            "url": self.base_url,
            "reachable": self.reachable,
            "pending": self.pending,
            "in_flight": self.in_flight,
            **self.stats.as_dict(),
        }

    # ---- queue plumbing

    def _fail_fast(self, fut: Waiter) -> bool:
        if not self._breaker.is_open:
            return False
        fut.set_result(
            Outcome(
                False,
                error="camera_unreachable",
                message="the camera's control server is unreachable; retrying in the background",
            )
        )
        return True

    def _busy(self, fut: Waiter) -> None:
        self.stats.busy += 1
        fut.set_result(
            Outcome(
                False,
                error="busy",
                message=f"{self._queue.waiters} requests are waiting for this camera",
            )
        )

    def _changed(self) -> None:
        self._arm_expiry()
        self._wakeup.set()

    def _arm_expiry(self) -> None:
        """Keep one timer at the earliest deadline in the queue, so waiting requests time out
        on time even while another request is in flight."""
        at = self._queue.earliest_deadline()
        if at == self._expiry_at:
            return
        self._cancel_expiry()
        if at is None:
            return
        self._expiry_at = at
        self._expiry = asyncio.get_running_loop().call_later(
            max(0.0, at - time.monotonic()), self._expire
        )

    def _cancel_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        self._expiry = None
        self._expiry_at = None

    def _expire(self) -> None:
        self._expiry = None
        self._expiry_at = None
        for entry in self._queue.expire(time.monotonic()):
            self._resolve_failure(
                entry,
                Failure("timeout", f"not sent within {self.cfg.deadline:g} s: the camera is busy"),
            )
        self._arm_expiry()

    def _resolve(self, entry: Entry[Waiter], make: Callable[[bool], Outcome]) -> None:
        last = len(entry.waiters) - 1
        for i, fut in enumerate(entry.waiters):
            if not fut.done():
                fut.set_result(make(i < last))

    def _resolve_failure(self, entry: Entry[Waiter], failure: Failure) -> None:
        if failure.error == "timeout":
            self.stats.timeouts += len(entry.waiters)
        var = None if entry.is_read else entry.key
        self._resolve(
            entry,
            lambda superseded: Outcome(
                False,
                var=var,
                superseded=superseded and not entry.is_read,
                error=failure.error,
                message=failure.message,
            ),
        )

    # ---- the loop

    async def _run(self) -> None:
        while True:
            if self._breaker.is_open:
                await self._probe_until_answered()
                continue
            now = time.monotonic()
            if now >= self._last_status_at + self.cfg.poll_interval:
                self._queue.request_refresh(now)
            entry = self._queue.take(now)
            if entry is None:
                wake = self._queue.next_time(now)
                poll = self._last_status_at + self.cfg.poll_interval
                until = poll if wake is None else min(wake, poll)
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, until - now)):  # not wait_for: 3.11
                        await self._wakeup.wait()
                continue
            self._arm_expiry()
            self.in_flight = entry.key
            try:
                if entry.is_read:
                    await self._do_read(entry)
                else:
                    await self._do_set(entry)
            except asyncio.CancelledError:  # stopping: the request in flight is answered too
                self._resolve_failure(entry, Failure("camera_unreachable", "the relay is stopping"))
                raise
            except Exception:  # a bug must not leave requests unanswered
                log.exception("camera %s: control request failed", self.name)
                self._resolve_failure(entry, Failure("camera_unreachable", "internal error"))
            finally:
                self.in_flight = None

    async def _do_set(self, entry: Entry[Waiter]) -> None:
        var, val = entry.key, entry.val
        assert val is not None
        url = self._board.control_url(var, val)
        result = await self._board.exchange(url, entry.deadline, control=True)
        self._queue.sent(var, time.monotonic())
        if isinstance(result, Failure):
            self._resolve_failure(entry, result)
        elif result.status == 200:
            if self._on_applied is not None:
                self._on_applied(var, val)
            self._queue.request_refresh(time.monotonic())
            self._resolve(entry, lambda sup: Outcome(True, var=var, val=val, superseded=sup))
        else:
            self._resolve_failure(
                entry,
                Failure(
                    "camera_rejected",
                    f"the camera answered HTTP {result.status} to {var}={val}",
                ),
            )
        self._after_exchange()

    async def _do_read(self, entry: Entry[Waiter]) -> None:
        deadline = min(entry.deadline, time.monotonic() + self.cfg.deadline)
        result = await self._board.exchange(self._board.status_url(), deadline, control=False)
        self._last_status_at = time.monotonic()
        if isinstance(result, Failure):
            self._resolve_failure(entry, result)
        else:
            status = self._board.parse_status(result)
            if isinstance(status, Failure):
                self._resolve_failure(entry, status)
            else:
                if self._on_status is not None:
                    self._on_status(status, result.sent_at, result.received_at)
                self._resolve(entry, lambda _: Outcome(True, status=status))
        self._after_exchange()

    def _after_exchange(self) -> None:
        if self._breaker.is_open:
            self._open_breaker()

    def _open_breaker(self) -> None:
        """Everything waiting fails now; only the probe talks to the board from here on."""
        if self.breaker_history and self.breaker_history[-1][1] is None:
            return
        self.breaker_history.append((time.monotonic(), None))
        self.stats.breaker_opened += 1
        self._cancel_expiry()
        log.warning("camera %s: control server unreachable; probing /status", self.name)
        for entry in self._queue.drain():
            self._resolve_failure(
                entry,
                Failure(
                    "camera_unreachable",
                    "the camera's control server is unreachable; retrying in the background",
                ),
            )
        if self._on_reachable is not None:
            self._on_reachable(False)

    async def _probe_until_answered(self) -> None:
        self._open_breaker()
        backoff = Backoff(self.cfg.probe_min, self.cfg.probe_max)
        url = self._board.status_url()
        while True:
            await asyncio.sleep(backoff.next_delay(self._rng))
            self.stats.probes += 1
            result = await self._board.attempt(url, self.cfg.attempt_timeout, control=False)
            if isinstance(result, Failure):
                continue
            opened, _ = self.breaker_history[-1]
            self.breaker_history[-1] = (opened, time.monotonic())
            log.info("camera %s: control server answers again", self.name)
            self._last_status_at = time.monotonic()
            status = self._board.parse_status(result)
            if not isinstance(status, Failure) and self._on_status is not None:
                self._on_status(status, result.sent_at, result.received_at)
            if self._on_reachable is not None:
                self._on_reachable(True)
            return
