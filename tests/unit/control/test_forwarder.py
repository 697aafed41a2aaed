"""The forwarder against the simulated board over real sockets, with control faults injected."""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from urllib.parse import parse_qs

from relay.control.config import ControlConfig
from relay.control.forwarder import Forwarder, Outcome
from relay.simulator import Faults, SimulatedCamera, SimulatorOptions

from .simboard import FAST, wait_for


@contextlib.asynccontextmanager
async def board(
    cfg: ControlConfig = FAST, **faults: object
) -> AsyncIterator[tuple[SimulatedCamera, Forwarder, list[bool]]]:
    opts = SimulatorOptions(
        control_port=0, stream_port=0, capture_led_delay=0.0, faults=Faults(**faults)
    )
    reachable: list[bool] = []
    async with SimulatedCamera(opts) as sim:
        fwd = Forwarder("test", sim.control_url, cfg, on_reachable=reachable.append)
        await fwd.start()
        try:
            yield sim, fwd, reachable
        finally:
            await fwd.stop()


def commands(sim: SimulatedCamera, since: float = -math.inf) -> list[tuple[str, int, int | None]]:
    """(var, val, HTTP status or None for a reset) of every /control the board read."""
    out = []
    for rec in sim.control_server.log:
        if rec.path == "/control" and rec.at >= since:
            q = parse_qs(rec.query or "")
            out.append((q["var"][0], int(q["val"][0]), rec.status))
    return out


def applied(sim: SimulatorOptions | SimulatedCamera, var: str) -> list[int]:
    """Values of ``var`` the board applied, in order, consecutive repeats folded."""
    assert isinstance(sim, SimulatedCamera)
    values: list[int] = []
    for v, val, status in commands(sim):
        if v == var and status == 200 and (not values or values[-1] != val):
            values.append(val)
    return values


def is_subsequence(sub: Iterable[int], seq: Iterable[int]) -> bool:
    it = iter(seq)
    return all(any(x == y for y in it) for x in sub)


async def test_set_is_applied_and_get_reads_the_status() -> None:
    async with board() as (sim, fwd, _):
        out = await fwd.set("brightness", 2)
        assert out == Outcome(True, var="brightness", val=2)
        assert sim.status()["brightness"] == 2
        read = await fwd.read()
        assert read.ok and read.status is not None and read.status["brightness"] == 2
        assert fwd.stats.control_requests == 1


async def test_a_thousand_slider_updates_in_two_seconds_reach_the_board_as_a_few_dozen() -> None:
    cfg = replace(FAST, hold=0.1, refresh_max_delay=1.0)
    async with board(cfg) as (sim, fwd, _):
        await fwd.read()  # the first poll is done: from here on, the board sees only the drag
        await asyncio.sleep(0.05)
        t0 = time.monotonic()
        # A hand dragging the slider back and forth across -2..2.
        values = [round(2 * math.sin(i / 40)) for i in range(1000)]
        futures = []
        for i, val in enumerate(values):
            futures.append(fwd.set("brightness", val))
            delay = t0 + (i + 1) * 0.002 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        assert time.monotonic() - t0 < 2.3
        outcomes = await asyncio.gather(*futures)
        await asyncio.sleep(1.2)  # the refresh after the drag
        board_cmds = commands(sim, since=t0)
        status_reads = [r for r in sim.control_server.log if r.at >= t0 and r.path == "/status"]
    # Every request answered, all applied, the newest of each batch without `superseded`.
    assert all(o.ok and o.var == "brightness" for o in outcomes)
    assert not outcomes[-1].superseded and outcomes[-1].val == values[-1]
    superseded = [o for o in outcomes if o.superseded]
    assert len(superseded) >= 900
    sent_values = [val for _, val, _ in board_cmds]
    # Superseded requests report the value that was applied in their place.
    assert {o.val for o in outcomes} <= set(sent_values)
    assert sim.status()["brightness"] == values[-1]
    assert is_subsequence(sent_values, values)
    print(
        f"\n1000 slider updates in {2.0:.0f} s: {len(board_cmds)} /control + "
        f"{len(status_reads)} /status requests to the board"
    )
    assert len(board_cmds) <= 30
    assert len(board_cmds) + len(status_reads) <= 36


async def test_sets_the_board_refuses_now_and_then_are_retried() -> None:
    async with board(control_500_every=2) as (sim, fwd, _):
        for val in (-2, -1, 0, 1, 2):
            out = await fwd.set("contrast", val)
            assert out.ok, out
        assert sim.status()["contrast"] == 2
        assert fwd.stats.retries >= 2
        statuses = [s for var, _, s in commands(sim) if var == "contrast"]
        assert 500 in statuses and statuses[-1] == 200


async def test_a_value_the_board_always_refuses_is_camera_rejected() -> None:
    async with board(control_500_every=1) as (sim, fwd, _):
        out = await fwd.set("saturation", 1)
        assert (out.ok, out.error) == (False, "camera_rejected")
        assert "HTTP 500" in out.message
        # One attempt and max_5xx_retries more; the board is reachable all along.
        assert len(commands(sim)) == 1 + FAST.max_5xx_retries
        assert fwd.reachable and sim.status()["saturation"] == 0


async def test_connection_resets_are_retried_and_the_board_ends_on_the_last_values() -> None:
    async with board(control_reset_every=2) as (sim, fwd, reachable):
        futures = []
        last: dict[str, int] = {}
        for i in range(40):
            var = ("brightness", "contrast", "ae_level")[i % 3]
            val = (i * 7) % 5 - 2
            last[var] = val
            futures.append(fwd.set(var, val))
            await asyncio.sleep(0.005)
        outcomes = await asyncio.gather(*futures)
        assert all(o.ok for o in outcomes), [o for o in outcomes if not o.ok]
        for var, val in last.items():
            assert sim.status()[var] == val
        assert None in [s for _, _, s in commands(sim)]  # resets did happen
        assert reachable == []  # never three failures in a row: the breaker stayed closed


async def test_a_board_that_answers_past_the_deadline_gives_timeout() -> None:
    async with board(control_delay_every=1, control_delay_seconds=2.5) as (sim, fwd, _):
        await fwd.read()
        t0 = time.monotonic()
        first = fwd.set("quality", 20)
        await wait_for(lambda: sim.control_server.commands >= 1, 1.0)
        sim.options.faults.control_delay_every = 0  # only the first one is slow
        second = fwd.set("awb", 0)
        out1 = await first
        took1 = time.monotonic() - t0
        out2 = await second
        took2 = time.monotonic() - t0
        assert (out1.ok, out1.error) == (False, "timeout"), out1
        assert took1 <= FAST.deadline + 0.1
        # The second waited behind it; it is answered no later than its own deadline.
        assert not out2.ok and out2.error in ("timeout", "camera_unreachable"), out2
        assert took2 <= FAST.deadline + 0.2
        # Once the board is free again, requests go through.
        await wait_for(lambda: fwd.reachable, 5.0)
        assert (await fwd.set("awb", 0)).ok
        assert sim.status()["awb"] == 0 and sim.status()["quality"] == 20


async def test_board_down_then_up() -> None:
    async with board() as (sim, fwd, reachable):
        assert (await fwd.set("brightness", 1)).ok
        outage = asyncio.create_task(sim.control_outage(1.0))
        await wait_for(lambda: not sim.control_is_up, 1.0)
        t0 = time.monotonic()
        during = [fwd.set("brightness", v) for v in (-2, -1)]
        during_out = await asyncio.gather(*during)
        assert all(o.error == "camera_unreachable" for o in during_out), during_out
        assert time.monotonic() - t0 < 1.0  # refused connections open the breaker quickly
        # While it is open, requests fail at once.
        t1 = time.monotonic()
        fast = await fwd.set("brightness", 0)
        assert fast.error == "camera_unreachable" and time.monotonic() - t1 < 0.05
        assert reachable == [False]
        await outage
        await wait_for(lambda: fwd.reachable, 2.0)
        assert reachable == [False, True]
        assert (await fwd.set("brightness", 2)).ok
        assert sim.status()["brightness"] == 2


async def test_nothing_but_the_probe_reaches_the_board_while_the_breaker_is_open() -> None:
    async with board(control_reset_every=1) as (sim, fwd, _):
        out = await fwd.set("hmirror", 1)
        assert out.error == "camera_unreachable"
        assert not fwd.reachable
        fails = await asyncio.gather(*(fwd.set("vflip", i % 2) for i in range(20)))
        assert all(o.error == "camera_unreachable" for o in fails)
        fwd.refresh()
        assert (await fwd.read()).error == "camera_unreachable"
        await asyncio.sleep(0.8)
        sim.options.faults.control_reset_every = 0  # the board recovers
        await wait_for(lambda: fwd.reachable, 2.0)
        opened, closed = fwd.breaker_history[0]
        assert closed is not None
        during = [r for r in sim.control_server.log if opened <= r.at <= closed]
        assert during and {r.path for r in during} == {"/status"}
        assert fwd.stats.probes >= 2
        assert (await fwd.set("hmirror", 1)).ok


async def test_every_request_is_answered_exactly_once_under_mixed_faults() -> None:
    cfg = replace(FAST, deadline=3.0)
    rng = random.Random(4)
    async with board(
        cfg,
        control_500_every=5,
        control_reset_every=7,
        control_delay_every=11,
        control_delay_seconds=0.2,
    ) as (sim, fwd, _):
        variables = ("brightness", "contrast", "saturation", "ae_level", "special_effect")
        requested: dict[str, list[int]] = {v: [] for v in variables}
        futures: list[tuple[str, int, asyncio.Future[Outcome]]] = []
        for _ in range(300):
            var = rng.choice(variables)
            val = rng.randint(0, 6) if var == "special_effect" else rng.randint(-2, 2)
            requested[var].append(val)
            futures.append((var, val, fwd.set(var, val)))
            if rng.random() < 0.05:
                futures.append(("", 0, fwd.read()))
            await asyncio.sleep(rng.random() * 0.006)
        outcomes = await asyncio.gather(*(f for _, _, f in futures))
        answered = [f for _, _, f in futures if f.done() and not f.cancelled()]
        assert len(answered) == len(futures)
        errors = {o.error for o in outcomes if not o.ok}
        assert errors <= {"camera_rejected", "timeout", "camera_unreachable"}
        # The faults did hit: 500s, resets and late answers all happened.
        statuses = [s for _, _, s in commands(sim)]
        assert statuses.count(500) >= 3 and statuses.count(None) >= 3
        assert fwd.stats.retries >= 6
        status = sim.status()
        for var in variables:
            # Per variable, the board applied values in the order they were asked for ...
            assert is_subsequence(applied(sim, var), requested[var]), var
            last = [o for (v, _, _), o in zip(futures, outcomes, strict=True) if v == var]
            # ... and ends on the last one whenever that one was answered ok.
            if last and last[-1].ok:
                assert status[var] == requested[var][-1], var


async def test_past_the_bound_requests_are_answered_busy() -> None:
    cfg = replace(FAST, max_waiters=4, deadline=3.0, attempt_timeout=2.0)
    async with board(cfg, control_delay_every=1, control_delay_seconds=0.5) as (sim, fwd, _):
        first = fwd.set("brightness", 1)
        await wait_for(lambda: sim.control_server.commands >= 1, 1.0)
        waiting = [fwd.set(v, 1) for v in ("contrast", "saturation", "ae_level", "awb")]
        busy = await fwd.set("agc", 0)
        assert (busy.ok, busy.error) == (False, "busy")
        sim.options.faults.control_delay_every = 0
        assert (await first).ok
        assert all(o.ok for o in await asyncio.gather(*waiting))


async def test_stopping_answers_what_is_in_flight_and_waiting() -> None:
    async with board(control_delay_every=1, control_delay_seconds=1.0) as (sim, fwd, _):
        in_flight = fwd.set("quality", 30)
        await wait_for(lambda: sim.control_server.commands >= 1, 1.0)
        waiting = fwd.set("contrast", 1)
        await fwd.stop()
        for fut in (in_flight, waiting):
            assert fut.done()
            out = fut.result()
            assert (out.ok, out.error, out.message) == (
                False,
                "camera_unreachable",
                "the relay is stopping",
            )
