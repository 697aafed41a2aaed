from __future__ import annotations

import asyncio

from relay.jpegout.latest import LatestJpeg


async def test_a_waiter_gets_the_next_jpeg_and_a_late_one_the_newest() -> None:
    latest = LatestJpeg()
    assert latest.still is None
    waiters = [asyncio.create_task(latest.newer(0, 5.0)) for _ in range(3)]
    await asyncio.sleep(0)
    first = latest.publish(b"a")
    got = await asyncio.gather(*waiters)
    assert all(s is first for s in got) and first.seq == 1
    latest.publish(b"b")
    newest = latest.publish(b"c")
    # A slow client asks after two more: it gets the newest at once, skipping "b".
    assert await latest.newer(first.seq, 5.0) is newest


async def test_a_timeout_answers_none_and_leaves_the_others_waiting() -> None:
    latest = LatestJpeg()
    patient = asyncio.create_task(latest.newer(0, 5.0))
    assert await latest.newer(0, 0.01) is None
    still = latest.publish(b"x")
    assert await patient is still


async def test_a_cancelled_waiter_leaves_the_others_and_is_forgotten() -> None:
    latest = LatestJpeg()
    gone = asyncio.create_task(latest.newer(0, None))
    stays = asyncio.create_task(latest.newer(0, None))
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.sleep(0)
    assert gone.cancelled()
    still = latest.publish(b"y")
    assert await stays is still
    assert latest._waiters == []
