"""Fan-out of encoded frames: each viewer starts at a keyframe, a stalled one restarts at one."""

from __future__ import annotations

import asyncio
import fractions

import av
import pytest

from relay.video.fanout import Fanout
from relay.video.frames import EncodedFrame


def _frame(seq: int, key: bool) -> EncodedFrame:
    p = av.Packet(b"x" * 10)
    p.pts = seq * 3600
    p.time_base = fractions.Fraction(1, 90000)
    return EncodedFrame(p, key, 800, 600, seq, 0.0, 0.0)


async def test_fanout_starts_each_viewer_at_a_keyframe_and_resets_a_stalled_one() -> None:
    requests: list[str] = []
    fan = Fanout(lambda reason, layer: requests.append(reason), depth=3)
    sub = fan.subscribe()
    assert requests == ["viewer joined"]
    fan.publish(_frame(1, False))  # not decodable without the keyframe: skipped
    fan.publish(_frame(2, True))
    fan.publish(_frame(3, False))
    assert [(await sub.get()).seq for _ in range(2)] == [2, 3]
    # The viewer stalls: its queue overflows, it is reset to the next keyframe.
    for seq in range(4, 8):
        fan.publish(_frame(seq, False))
    assert fan.stats.overflows == 1 and requests[-1] == "subscriber overflow"
    fan.publish(_frame(8, False))
    fan.publish(_frame(9, True))
    assert (await sub.get()).seq == 9
    sub.close()
    assert fan.viewers == 0
    with pytest.raises(EOFError):
        await sub.get()


async def test_subscription_get_wakes_on_publish_and_on_close() -> None:
    fan = Fanout(lambda reason, layer: None)
    sub = fan.subscribe()
    task = asyncio.ensure_future(sub.get())
    await asyncio.sleep(0)
    fan.publish(_frame(1, True))
    assert (await task).seq == 1
    task = asyncio.ensure_future(sub.get())
    await asyncio.sleep(0)
    sub.close()
    with pytest.raises(EOFError):
        await task


async def test_a_failing_sink_does_not_stop_the_others() -> None:
    class Broken:
        def deliver_picture(self, frames: list[EncodedFrame]) -> None:
            raise AttributeError("no such thing")

        def wanted_layers(self) -> set[int]:
            return {0}

        def __len__(self) -> int:
            return 1

    fan = Fanout(lambda reason, layer: None)
    broken = Broken()
    fan.add_sink(broken)
    sub = fan.subscribe()
    fan.publish(_frame(1, True))  # raises nothing
    assert (await sub.get()).seq == 1
    assert fan.viewers == 1  # the broken sink is gone, the subscriber stays


async def test_a_switching_subscriber_takes_one_frame_per_picture() -> None:
    from dataclasses import replace

    fan = Fanout(lambda reason, layer: None)
    sub = fan.subscribe()
    fan.publish(_frame(1, True))
    sub.switch(1)
    full, low = _frame(2, False), replace(_frame(2, True), layer=1, width=400, height=300)
    fan.publish_picture([full, low])  # the low layer's keyframe replaces the full frame
    fan.publish_picture([_frame(3, False), replace(_frame(3, False), layer=1, width=400)])
    got = [await sub.get() for _ in range(3)]
    assert [(f.seq, f.layer) for f in got] == [(1, 0), (2, 1), (3, 1)]
