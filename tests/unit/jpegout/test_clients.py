"""Every MJPEG client written to at each JPEG: the ready ones get it, a full one skips it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from relay.jpegout.clients import JpegClients
from relay.jpegout.latest import LatestJpeg
from relay.jpegout.multipart import RateCap


@dataclass
class Transport:
    """The part of an asyncio transport a client uses, with a buffer the test drains."""

    buffered: int = 0
    closing: bool = False
    written: list[bytes] = field(default_factory=list)

    def write(self, data: bytes) -> None:
        self.written.append(data)
        self.buffered += len(data)

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return self.closing


async def test_ready_clients_get_each_jpeg_and_a_full_one_skips() -> None:
    latest = LatestJpeg()
    clients = JpegClients(limit=100)
    fast, slow, old = Transport(), Transport(), Transport()
    a = clients.add(fast, True, RateCap(None))
    b = clients.add(slow, True, RateCap(None))
    c = clients.add(old, False, RateCap(None))  # HTTP/1.0: no chunks
    for i in range(5):
        still = latest.publish(bytes([0xFF, 0xD8, i]) * 50)
        clients.deliver(still, float(i))
        fast.buffered = old.buffered = 0  # these read everything at once
    assert a.sent == 5 and c.sent == 5
    assert b.sent == 1 and b.skipped == 4  # never read: one JPEG waits, none queue
    part = latest.still.part  # type: ignore[union-attr]
    assert old.written[-1] == part
    assert fast.written[-1] == f"{len(part):x}\r\n".encode() + part + b"\r\n"


async def test_the_rate_cap_and_a_gone_client() -> None:
    latest = LatestJpeg()
    clients = JpegClients(limit=10**6)
    capped, gone = Transport(), Transport()
    a = clients.add(capped, False, RateCap(2.0))
    b = clients.add(gone, False, RateCap(None))
    for i in range(25):  # a second at 25 fps
        clients.deliver(latest.publish(b"jpeg"), i / 25)
        if i == 10:
            gone.closing = True
    assert a.sent == 2  # at 0 s and 0.5 s
    assert b.sent == 11 and b.done.done() and len(clients) == 1  # frames 0..10
    clients.close()
    assert a.done.done() and len(clients) == 0
    await asyncio.sleep(0)
