"""Camera faults against a relay with live viewers: the rig, the faults, the checks.

A :func:`fault_rig` is a simulated board, the real relay reading it, and aiortc viewers
watching over WHEP. Each entry of :data:`CASES` makes one fault of real boards happen
(a drop, a stall, a reboot, damaged frames...) and says what must show it;
:func:`run_case` runs it and checks that viewers stayed connected, saw only camera
frames in order or placeholders, and got the camera back. Used by the fault tests, the
fault soak and the benchmark soak.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp

from ..cameras import Camera
from ..config import RelayConfig
from ..ingest.stream import StreamConnection
from ..simulator import Faults, SimulatedCamera, SimulatorOptions
from ..video.framecode import elapsed_ms
from ..video.placeholder import is_placeholder
from .relay import RunningRelay, camera_at, running_relay
from .whep import ReceivedFrame, WhepViewer


@dataclass
class Rig:
    sim: SimulatedCamera
    relay: RunningRelay
    http: aiohttp.ClientSession
    viewers: list[WhepViewer] = field(default_factory=list)

    @property
    def camera(self) -> Camera:
        return self.relay.camera()

    @property
    def ingest(self) -> StreamConnection:
        ingest = self.camera.ingest
        assert ingest is not None, "the rig's camera reads a board"
        return ingest

    def set_faults(self, **changes: Any) -> None:
        # The simulator reads its faults per frame: a new object switches them at once.
        self.sim.options.faults = replace(Faults(), **changes)

    def counters(self) -> dict[str, int]:
        cam = self.camera
        info = cam.info(viewers=0)
        return {**info["ingest"], **{f"pipeline.{k}": v for k, v in info["pipeline"].items()}}


@contextlib.asynccontextmanager
async def fault_rig(viewers: int = 2, **camera: Any) -> AsyncIterator[Rig]:
    sim = SimulatedCamera(SimulatorOptions(control_port=0, stream_port=0, fps=25))
    await sim.start()
    try:
        cam = camera_at(sim.stream_url, sim.control_url, **camera)
        cfg = RelayConfig(host="127.0.0.1", port=0, cameras=(cam,))
        async with running_relay(cfg) as relay, aiohttp.ClientSession() as http:
            rig = Rig(sim, relay, http)
            try:
                for _ in range(viewers):
                    v = WhepViewer(relay.whep())
                    await v.connect(http, channel=True)
                    rig.viewers.append(v)
                await asyncio.gather(*(live_frames(v, 10, 20) for v in rig.viewers))
                # New viewers start on a cheaper rung and are probed up: faults are
                # watched from the full layer, where a LAN viewer settles.
                # (The full layer's size is known once it has encoded a frame.)
                pipeline = relay.camera().pipeline

                def full(f: ReceivedFrame) -> bool:
                    return (f.width, f.height) == pipeline.resolution

                await asyncio.gather(*(v.wait_frames(5, 20, where=full) for v in rig.viewers))
                yield rig
            finally:
                await asyncio.gather(*(v.close(http) for v in rig.viewers))
    finally:
        await sim.stop()


def is_live(f: ReceivedFrame) -> bool:
    """A camera frame: its code holds a send time just before its arrival."""
    if is_placeholder((f.send_ms, f.counter)):
        return False
    lag = elapsed_ms(f.send_ms, int(f.arrived * 1000))
    return -50 <= lag <= 5000


async def live_frames(v: WhepViewer, n: int, timeout: float) -> list[ReceivedFrame]:
    return await v.wait_frames(n, timeout, where=is_live)


def check_frames(frames: list[ReceivedFrame], tolerate: int = 0) -> tuple[int, int]:
    """Every frame is a placeholder or a camera frame in order; (live, placeholders).

    ``tolerate``: how many isolated frames may read wrong. Only for entropy-data
    corruption that leaves the JPEG syntactically valid: no decoder can notice that
    (about 1 in 400 of the simulator's corrupted frames), and it shows as one bad frame.
    """
    placeholders = sum(1 for f in frames if is_placeholder((f.send_ms, f.counter)))
    bad = [f for f in frames if not is_placeholder((f.send_ms, f.counter)) and not is_live(f)]
    # Camera frames must come in order. A frame in line with neither neighbour is a bad
    # one (its time may still read plausibly); the others must then all be in line.
    cams = [f for f in frames if is_live(f)]

    def follows(a: ReceivedFrame, b: ReceivedFrame) -> bool:
        return 0 < (b.counter - a.counter) % 65536 < 1000

    # First the odd ones out: a frame whose neighbours follow each other but not it, such
    # as a counter damaged into a plausible one (2084, 2088, 2085): in line with the
    # frame before it, it would otherwise pass and make the true next frame look late.
    odd = {
        id(f)
        for prev, f, nxt in zip(cams, cams[1:], cams[2:], strict=False)
        if follows(prev, nxt) and not (follows(prev, f) and follows(f, nxt))
    }
    bad.extend(f for f in cams if id(f) in odd)
    cams = [f for f in cams if id(f) not in odd]
    good: list[ReceivedFrame] = []
    for i, f in enumerate(cams):
        before_ok = i > 0 and follows(cams[i - 1], f)
        after_ok = i + 1 < len(cams) and follows(f, cams[i + 1])
        if before_ok or after_ok or len(cams) == 1:
            good.append(f)
        else:
            bad.append(f)
    for a, b in zip(good, good[1:], strict=False):
        assert follows(a, b), f"camera frames out of order: {a} then {b}"
    index = {id(f): i for i, f in enumerate(frames)}
    where = sorted(index[id(f)] for f in bad)
    isolated = all(b - a > 1 for a, b in zip(where, where[1:], strict=False))
    assert len(bad) <= tolerate and isolated, bad
    return len(good), placeholders


async def first_live_after(v: WhepViewer, start_index: int, after: float, timeout: float) -> float:
    """Arrival time of the first camera frame that arrived after ``after`` (time.time())."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for f in v.frames[start_index:]:
            if f.arrived >= after and is_live(f):
                return f.arrived
        await asyncio.sleep(0.01)
    raise TimeoutError(f"no camera frame within {timeout} s after the fault")


async def wait_until(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.005)


# ---- the faults: each runs one occurrence and returns when the board is fine again
# (time.time() of that moment), or None for faults that never interrupt the stream.


async def drop(rig: Rig) -> float | None:
    before = rig.ingest.state.disconnects
    rig.set_faults(drop_every=1)
    await wait_until(lambda: rig.ingest.state.disconnects > before, 3, "no drop")
    rig.set_faults()
    return time.time()


async def stall(rig: Rig) -> float | None:
    rig.set_faults(stall_every=1, stall_seconds=1.5)
    await asyncio.sleep(0.1)  # the next frame's stall has begun
    rig.set_faults()
    start = time.time()
    await asyncio.sleep(1.45)
    return start + 1.4  # the stall began at most one frame period before it was set


async def long_stall(rig: Rig) -> float | None:
    """Longer than the stall watchdog: the relay reconnects while the board hangs."""
    stalls = rig.ingest.state.stalls
    rig.set_faults(stall_every=1, stall_seconds=4.0)
    set_at = time.time()
    await asyncio.sleep(0.1)
    rig.set_faults()
    await wait_until(lambda: rig.ingest.state.stalls > stalls, 5, "watchdog silent")
    await asyncio.sleep(max(0.0, set_at + 4.0 - time.time()))
    return set_at + 3.96


async def reboot(rig: Rig) -> float | None:
    await rig.sim.reboot(2.0)  # returns once it accepts connections again
    return time.time()


async def http_500(rig: Rig) -> float | None:
    errors = rig.ingest.state.http_errors
    rig.set_faults(stream_http_500=True, drop_every=1)
    await asyncio.sleep(1.5)  # longer than the placeholder's grace
    await wait_until(lambda: rig.ingest.state.http_errors >= errors + 2, 5, "no 500")
    rig.set_faults()
    return time.time()


async def drip(rig: Rig) -> float | None:
    """10 kB/s: an 800x600 frame (about 40 kB) takes longer than the stall watchdog."""
    stalls = rig.ingest.state.stalls
    rig.set_faults(drip_bytes_per_second=10_000)
    await wait_until(lambda: rig.ingest.state.stalls > stalls, 6, "watchdog silent")
    await asyncio.sleep(0.5)
    rig.set_faults()
    return time.time()


def _in_stream(**faults: Any) -> Callable[[Rig], Awaitable[float | None]]:
    async def run(rig: Rig) -> float | None:
        rig.set_faults(**faults)
        await asyncio.sleep(1.5)
        rig.set_faults()
        return None

    return run


garbage = _in_stream(garbage_every=2, garbage_bytes=300)
corrupt = _in_stream(corrupt_every=2)
truncate = _in_stream(truncate_every=2)
mislength = _in_stream(mislength_every=2, mislength_bytes=200)


@dataclass(frozen=True)
class Case:
    run: Callable[[Rig], Awaitable[float | None]]
    # At least one of these grows; none: the relay recovers every frame (nothing is lost).
    counters: tuple[str, ...]
    placeholder: bool  # the placeholder shows during the fault
    undetectable: int = 0  # bad frames no decoder can catch, per occurrence (see check_frames)
    # The longest a viewer may go without any frame (camera or placeholder), in seconds:
    # a closed or refused connection is known at once, so the placeholder follows quickly.
    max_gap: float | None = None


CASES = {
    "drop": Case(drop, ("disconnects",), False, max_gap=0.5),
    "stall": Case(stall, ("pipeline.away_periods",), True),
    "long_stall": Case(long_stall, ("stalls",), True),
    "reboot": Case(reboot, ("refused",), True, max_gap=0.5),
    "http_500": Case(http_500, ("http_errors",), True, max_gap=0.5),
    "drip": Case(drip, ("stalls",), True),
    "garbage": Case(garbage, ("garbage_bytes",), False),
    "corrupt": Case(corrupt, ("pipeline.dropped_corrupt", "dropped_invalid"), False, 1),
    "truncate": Case(truncate, ("pipeline.dropped_corrupt", "dropped_invalid"), False),
    # The parser walks the JPEG's markers, so a wrong Content-Length costs no frame.
    "wrong_length": Case(mislength, (), False),
}


async def run_case(rig: Rig, case: Case, events: int) -> list[float]:
    """Run the fault ``events`` times; the recovery time of each (0 when not interrupted)."""
    viewer_start = [len(v.frames) for v in rig.viewers]
    before = rig.counters()
    sent = rig.sim.stream_server.frames_sent
    recoveries: list[float] = []
    for _ in range(events):
        marks = [len(v.frames) for v in rig.viewers]
        ended = await case.run(rig)
        if ended is None:
            # The stream never stopped: the worst gap between camera frames is the pause.
            await asyncio.gather(*(live_frames(v, 5, 5) for v in rig.viewers))
            gaps = []
            for v, mark in zip(rig.viewers, marks, strict=True):
                arrivals = [f.arrived for f in v.frames[mark:] if is_live(f)]
                gaps.append(max(b - a for a, b in itertools_pairwise(arrivals)))
            recoveries.append(max(gaps))
            continue
        arrivals = await asyncio.gather(
            *(
                first_live_after(v, mark, ended, 10)
                for v, mark in zip(rig.viewers, marks, strict=True)
            )
        )
        recoveries.append(max(arrivals) - ended)
        await asyncio.gather(*(live_frames(v, 5, 5) for v in rig.viewers))
    after = rig.counters()
    if case.counters:
        grown = {k: after[k] - before[k] for k in case.counters}
        assert any(d > 0 for d in grown.values()), f"counters did not show the fault: {grown}"
    else:
        lost = (rig.sim.stream_server.frames_sent - sent) - (after["frames"] - before["frames"])
        assert abs(lost) <= 1, f"{lost} frames lost"
        assert after["dropped_invalid"] == before["dropped_invalid"]
    for v, start in zip(rig.viewers, viewer_start, strict=True):
        assert v.pc.connectionState == "connected"
        live, placeholders = check_frames(v.frames[start:], case.undetectable * events)
        assert live > 0
        if case.placeholder:
            assert placeholders > 0, "the placeholder never showed"
        if case.max_gap is not None:
            arrivals = [f.arrived for f in v.frames[start:]]
            gap = max(b - a for a, b in itertools_pairwise(arrivals))
            assert gap <= case.max_gap, f"no frame for {gap * 1000:.0f} ms"
    return recoveries


def itertools_pairwise(values: list[float]) -> list[tuple[float, float]]:
    return list(zip(values, values[1:], strict=False))
