"""Soak: a camera fault every few seconds for minutes, viewers watching throughout.

Nothing may grow: asyncio tasks, open file descriptors, WebRTC sessions. The run's
length is ``ESP32_RELAY_FAULT_SOAK_SECONDS`` (default 120); the figures are printed
(``pytest -s``).
"""

from __future__ import annotations

import asyncio
import os
import resource
import time

import pytest

from relay.testing.faults import CASES, check_frames, fault_rig, live_frames

pytestmark = pytest.mark.network

DURATION = float(os.environ.get("ESP32_RELAY_FAULT_SOAK_SECONDS", "120"))
PERIOD = 5.0  # a fault starts every PERIOD seconds
ROTATION = ("drop", "stall", "garbage", "reboot", "corrupt", "http_500", "truncate")


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def test_faults_every_few_seconds_leak_nothing() -> None:
    async with fault_rig(viewers=2) as rig:
        peers = rig.relay.peers

        def sample() -> tuple[int, int, int]:
            return len(asyncio.all_tasks()), _fds(), peers.count()

        # One round of every fault first: lazily created things (executors, buffers,
        # encoder) exist before the baseline is taken.
        for kind in ROTATION:
            await CASES[kind].run(rig)
        await asyncio.gather(*(live_frames(v, 5, 5) for v in rig.viewers))
        await asyncio.sleep(1.0)
        base = sample()
        marks = [len(v.frames) for v in rig.viewers]
        series = [base]
        start = time.monotonic()
        faults = 0
        while time.monotonic() - start < DURATION:
            t0 = time.monotonic()
            await CASES[ROTATION[faults % len(ROTATION)]].run(rig)
            faults += 1
            await asyncio.sleep(max(0.0, t0 + PERIOD - time.monotonic()))
            series.append(sample())
        await asyncio.gather(*(live_frames(v, 10, 5) for v in rig.viewers))
        await asyncio.sleep(1.0)
        end = sample()
        ingest = rig.camera.info(viewers=2)["ingest"]
        print(
            f"\nsoak {time.monotonic() - start:.0f} s, {faults} faults:"
            f" tasks {base[0]} -> {end[0]} (max {max(s[0] for s in series)}),"
            f" fds {base[1]} -> {end[1]} (max {max(s[1] for s in series)}),"
            f" peers {base[2]} -> {end[2]}, max RSS {_rss_mb():.0f} MB,"
            f" connections {ingest['connections']}, disconnects {ingest['disconnects']}"
        )
        assert end[2] == base[2] == 2
        assert end[0] <= base[0] + 2, (base, end)
        assert end[1] <= base[1] + 2, (base, end)
        corrupt_runs = sum(1 for i in range(faults) if ROTATION[i % len(ROTATION)] == "corrupt")
        for v, mark in zip(rig.viewers, marks, strict=True):
            assert v.pc.connectionState == "connected"
            live, placeholders = check_frames(v.frames[mark:], corrupt_runs)
            assert live > 10 * DURATION  # most of the time, the camera's own frames
