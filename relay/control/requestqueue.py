"""What waits to be sent to one board's control server: a coalescing queue.

Pure: no I/O, no clock (every method takes ``now``). The forwarder
(:mod:`relay.control.forwarder`) drives it.

The queue holds at most one pending entry per variable: a newer set of a
variable that has not been sent yet replaces the value of the pending one and
adds its requester to that entry's waiters, so 1,000 slider updates cost a few
requests; such a merge is never refused, whatever the number of waiters, so the newest
value always gets in. An entry keeps its place in line when it is updated, so a slider
being dragged cannot starve other variables. After a variable is sent it is
held back for ``hold`` seconds: while a slider moves, the board sees at most
one request per variable per ``hold``.

Reads of /status are entries too (key :data:`STATUS`): every pending ``get``
shares one read. A *refresh* (the read that follows applied sets, or the slow
poll) has no waiters; it runs when no set has waited or been sent for ``hold``
seconds, or at the latest ``refresh_max_delay`` seconds after it was asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

STATUS = "/status"


class QueueFull(Exception):
    """More requests are waiting than the queue accepts."""


@dataclass
class Entry(Generic[T]):
    key: str  # a variable name, or STATUS for a read
    val: int | None  # the value to send (the newest requested); None for a read
    waiters: list[T] = field(default_factory=list)  # oldest first
    deadline: float = math.inf  # the earliest deadline among the waiters
    first_at: float = 0.0  # when the entry was created

    @property
    def is_read(self) -> bool:
        return self.key == STATUS


class CoalescingQueue(Generic[T]):
    def __init__(
        self, *, max_waiters: int = 65536, hold: float = 0.1, refresh_max_delay: float = 1.0
    ) -> None:
        self.max_waiters = max_waiters
        self.hold = hold
        self.refresh_max_delay = refresh_max_delay
        self._entries: dict[str, Entry[T]] = {}  # insertion order is the line
        self._hold_until: dict[str, float] = {}
        self._refresh_since: float | None = None
        self._last_sent = -math.inf  # when a set was last sent
        self.waiters = 0
        self.coalesced = 0  # sets merged into a pending entry

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    @property
    def refresh_owed(self) -> bool:
        return self._refresh_since is not None

    def put_set(self, var: str, val: int, waiter: T, now: float, deadline: float) -> bool:
        """Queue a set; True when it merged into a pending set of ``var``. Raises QueueFull."""
        if var == STATUS:
            raise ValueError("reserved key")
        return self._put(var, val, waiter, now, deadline)

    def put_read(self, waiter: T, now: float, deadline: float) -> bool:
        """Queue a /status read for ``waiter``; True when it joined a pending read."""
        return self._put(STATUS, None, waiter, now, deadline)

    def _put(self, key: str, val: int | None, waiter: T, now: float, deadline: float) -> bool:
        entry = self._entries.get(key)
        if entry is None:
            # The limit is for many different requests: a newer value of a variable already
            # pending (or another read) costs the board nothing more, and must not be lost.
            if self.waiters >= self.max_waiters:
                raise QueueFull
            self.waiters += 1
            self._entries[key] = Entry(key, val, [waiter], deadline, now)
            return False
        self.waiters += 1
        entry.val = val
        entry.waiters.append(waiter)
        entry.deadline = min(entry.deadline, deadline)
        if key != STATUS:
            self.coalesced += 1
        return True

    def request_refresh(self, now: float) -> None:
        """Ask for a /status read with nobody waiting for it."""
        if self._refresh_since is None:
            self._refresh_since = now

    def sent(self, key: str, now: float) -> None:
        """``key`` was just sent: hold its next set back for ``hold`` seconds."""
        if key != STATUS:
            self._last_sent = now
            if self.hold > 0:
                self._hold_until[key] = now + self.hold

    def _ready(self, key: str, now: float) -> bool:
        return self._hold_until.get(key, -math.inf) <= now

    def take(self, now: float) -> Entry[T] | None:
        """The next entry to send, in line order, skipping variables still held back."""
        for key, entry in self._entries.items():
            if self._ready(key, now):
                del self._entries[key]
                self.waiters -= len(entry.waiters)
                if entry.is_read:
                    self._refresh_since = None  # this read serves the refresh too
                return entry
        if self._refresh_since is not None and now >= self._refresh_time(now):
            self._refresh_since = None
            return Entry(STATUS, None, [], math.inf, now)
        return None

    def _refresh_time(self, now: float) -> float:
        """When an owed refresh runs: once no set is waiting and none was sent for ``hold``
        seconds (a slider has stopped), at the latest ``refresh_max_delay`` after it was owed."""
        assert self._refresh_since is not None
        latest = self._refresh_since + self.refresh_max_delay
        if self._entries:
            return latest
        return min(latest, max(now, self._last_sent + self.hold))

    def next_time(self, now: float) -> float | None:
        """When :meth:`take` may next return an entry (``now`` if it would now); None: never."""
        times = [max(now, self._hold_until.get(key, -math.inf)) for key in self._entries]
        if self._refresh_since is not None:
            times.append(self._refresh_time(now))
        return min(times, default=None)

    def earliest_deadline(self) -> float | None:
        return min((e.deadline for e in self._entries.values()), default=None)

    def expire(self, now: float) -> list[Entry[T]]:
        """Remove and return the entries whose deadline has passed."""
        gone = [e for e in self._entries.values() if e.deadline <= now]
        for entry in gone:
            del self._entries[entry.key]
            self.waiters -= len(entry.waiters)
        return gone

    def drain(self) -> list[Entry[T]]:
        """Remove and return every entry (the board is unreachable, or the relay stops)."""
        gone = list(self._entries.values())
        self._entries.clear()
        self.waiters = 0
        self._refresh_since = None
        return gone
