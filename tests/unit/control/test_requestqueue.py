"""The coalescing queue and the breaker, driven directly with explicit times."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay.control.requestqueue import STATUS, CoalescingQueue, QueueFull


def test_sets_of_one_variable_collapse_to_the_newest() -> None:
    q: CoalescingQueue[str] = CoalescingQueue(hold=0.1)
    assert q.put_set("brightness", -1, "a", 0.0, 5.0) is False
    assert q.put_set("brightness", 0, "b", 0.1, 5.1) is True
    assert q.put_set("brightness", 2, "c", 0.2, 5.2) is True
    assert len(q) == 1 and q.waiters == 3 and q.coalesced == 2
    entry = q.take(0.3)
    assert entry is not None
    assert (entry.key, entry.val, entry.waiters) == ("brightness", 2, ["a", "b", "c"])
    assert entry.deadline == 5.0  # the oldest waiter's: every reply within its deadline
    assert q.take(0.3) is None and q.waiters == 0


def test_an_updated_entry_keeps_its_place_in_line() -> None:
    q: CoalescingQueue[int] = CoalescingQueue(hold=0.0)
    q.put_set("contrast", 1, 1, 0.0, 9.0)
    q.put_set("saturation", 1, 2, 0.0, 9.0)
    q.put_set("contrast", 2, 3, 0.0, 9.0)
    first, second = q.take(0.0), q.take(0.0)
    assert first is not None and second is not None
    assert (first.key, first.val) == ("contrast", 2)
    assert second.key == "saturation"


def test_a_set_arriving_while_its_variable_is_in_flight_waits_its_turn() -> None:
    q: CoalescingQueue[int] = CoalescingQueue(hold=0.1)
    q.put_set("quality", 10, 1, 0.0, 5.0)
    in_flight = q.take(0.0)
    assert in_flight is not None
    q.put_set("quality", 20, 2, 0.01, 5.0)  # a new entry, not merged into the one being sent
    q.put_set("awb", 0, 3, 0.01, 5.0)
    q.sent("quality", 0.02)
    # quality is held back for 0.1 s after it was sent; awb goes first.
    nxt = q.take(0.03)
    assert nxt is not None and nxt.key == "awb"
    assert q.take(0.05) is None
    assert q.next_time(0.05) == pytest.approx(0.12)
    later = q.take(0.121)
    assert later is not None and (later.key, later.val, later.waiters) == ("quality", 20, [2])


def test_bound_on_waiting_requests() -> None:
    q: CoalescingQueue[int] = CoalescingQueue(max_waiters=3)
    for i in range(3):
        q.put_set("brightness", i % 3 - 1, i, 0.0, 5.0)
    with pytest.raises(QueueFull):
        q.put_set("contrast", 0, 9, 0.0, 5.0)
    with pytest.raises(QueueFull):
        q.put_read(9, 0.0, 5.0)
    assert q.take(0.0) is not None
    q.put_read(10, 0.0, 5.0)  # room again


def test_a_newer_value_of_a_pending_variable_is_never_refused() -> None:
    q: CoalescingQueue[int] = CoalescingQueue(max_waiters=3)
    q.put_set("contrast", 0, 0, 0.0, 5.0)
    q.put_read(1, 0.0, 5.0)
    q.put_set("brightness", 0, 2, 0.0, 5.0)
    # Full for new requests, but 500 more values of contrast and reads still coalesce.
    with pytest.raises(QueueFull):
        q.put_set("saturation", 1, 3, 0.0, 5.0)
    for i in range(500):
        assert q.put_set("contrast", i % 5 - 2, 100 + i, 0.0, 5.0)
    assert q.put_read(999, 0.0, 5.0)
    entry = q.take(0.0)
    assert entry is not None and entry.key == "contrast"
    assert entry.val == 499 % 5 - 2 and len(entry.waiters) == 501
    assert q.waiters == 3  # the read's two waiters and brightness


def test_expired_entries_leave_the_queue() -> None:
    q: CoalescingQueue[int] = CoalescingQueue()
    q.put_set("brightness", 1, 1, 0.0, 1.0)
    q.put_set("contrast", 1, 2, 0.5, 1.5)
    q.put_set("brightness", 2, 3, 0.9, 1.9)
    assert q.earliest_deadline() == 1.0
    gone = q.expire(1.0)
    assert [(e.key, e.waiters) for e in gone] == [("brightness", [1, 3])]
    assert q.waiters == 1 and q.earliest_deadline() == 1.5


def test_reads_share_one_request_and_serve_the_refresh() -> None:
    q: CoalescingQueue[str] = CoalescingQueue(hold=0.1)
    q.request_refresh(0.0)
    q.put_read("a", 0.0, 5.0)
    assert q.put_read("b", 0.0, 5.0) is True
    entry = q.take(0.0)
    assert entry is not None and entry.key == STATUS and entry.waiters == ["a", "b"]
    assert not q.refresh_owed
    assert q.take(0.0) is None


def test_refresh_waits_for_a_quiet_moment_at_most_its_delay() -> None:
    q: CoalescingQueue[int] = CoalescingQueue(hold=0.1, refresh_max_delay=1.0)
    q.put_set("brightness", 1, 1, 0.0, 9.0)
    e = q.take(0.0)
    assert e is not None
    q.sent("brightness", 0.01)
    q.request_refresh(0.01)
    # Nothing waits, but a set was sent just now: a dragged slider's next value may follow.
    assert q.take(0.05) is None
    assert q.next_time(0.05) == pytest.approx(0.11)
    refresh = q.take(0.11)
    assert refresh is not None and refresh.key == STATUS and refresh.waiters == []
    # While sets keep coming the refresh waits, but never longer than refresh_max_delay.
    q.request_refresh(1.0)
    t = 1.0
    while t < 2.5:
        q.put_set("brightness", 0, 2, t, t + 5)
        got = q.take(t)
        if got is not None and got.key == STATUS:
            break
        if got is not None:
            q.sent("brightness", t)
        t += 0.02
    assert 1.98 <= t <= 2.03


def test_drain_empties_everything() -> None:
    q: CoalescingQueue[int] = CoalescingQueue()
    q.put_set("awb", 1, 1, 0.0, 5.0)
    q.put_read(2, 0.0, 5.0)
    q.request_refresh(0.0)
    assert sorted(e.key for e in q.drain()) == [STATUS, "awb"]
    assert len(q) == 0 and q.waiters == 0 and not q.refresh_owed
    assert q.next_time(0.0) is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["put", "put", "put", "take", "read", "tick"]),
            st.sampled_from(["brightness", "contrast", "awb"]),
            st.integers(-2, 2),
        ),
        max_size=120,
    )
)
def test_order_per_variable_and_last_value_are_kept(ops: list[tuple[str, str, int]]) -> None:
    """Whatever the interleaving: each variable's values reach the board in the order they were
    requested (some skipped), the last one always does, and every waiter is served once."""
    q: CoalescingQueue[int] = CoalescingQueue(hold=0.05, refresh_max_delay=0.3)
    now = 0.0
    requested: dict[str, list[int]] = {}
    sent: dict[str, list[int]] = {}
    served: list[int] = []
    wid = 0

    def take_one() -> bool:
        entry = q.take(now)
        if entry is None:
            return False
        served.extend(entry.waiters)
        if not entry.is_read:
            assert entry.val is not None
            sent.setdefault(entry.key, []).append(entry.val)
            q.sent(entry.key, now)
        return True

    for op, var, val in ops:
        if op == "put":
            wid += 1
            q.put_set(var, val, wid, now, math.inf)
            requested.setdefault(var, []).append(val)
        elif op == "read":
            wid += 1
            q.put_read(wid, now, math.inf)
        elif op == "take":
            take_one()
        else:
            now += 0.03
    for _ in range(1000):  # drain: time moves on until nothing is left
        if not take_one():
            nxt = q.next_time(now)
            if nxt is None:
                break
            now = max(now + 0.001, nxt)
    assert len(q) == 0
    assert sorted(served) == list(range(1, wid + 1))
    for var, values in requested.items():
        got = sent[var]
        assert got[-1] == values[-1]
        it = iter(values)
        assert all(v in it for v in got), (values, got)  # a subsequence
