"""Every MJPEG client of one camera, written to as each JPEG is published. No I/O of its
own: the clients' transports are handed in.

Each published JPEG goes straight into the transport of every client that is ready for
it: not over its rate cap, and with at most ``limit`` bytes still unsent in its
transport. A slower client's transport is still full, so it skips that JPEG and gets a
newer one: nothing queues, and nobody waits for it. Writing from the publish instead of
waking one task per client and frame (a future, a task switch and aiohttp's drain each)
took the cost of a further client at SVGA 25 fps from 0.00061 to 0.00042-0.00049 cores
(``bench/mjpeg_out.py``, three runs), most of it now the kernel's TCP send.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

from .latest import Still
from .multipart import RateCap


class Sink(Protocol):
    """What of an asyncio transport a client needs."""

    def write(self, data: bytes) -> None: ...
    def get_write_buffer_size(self) -> int: ...
    def is_closing(self) -> bool: ...


@dataclass(eq=False)
class JpegClient:
    sink: Sink
    chunked: bool  # HTTP/1.1: each part goes as one chunk
    cap: RateCap
    done: asyncio.Future[None]  # resolved when the client is gone or the camera is removed
    sent: int = 0
    skipped: int = 0  # JPEGs left out because the client had not taken the previous ones


@dataclass
class JpegClients:
    limit: int  # bytes that may wait in a client's transport
    clients: list[JpegClient] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.clients)

    def add(self, sink: Sink, chunked: bool, cap: RateCap) -> JpegClient:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        client = JpegClient(sink, chunked, cap, done)
        self.clients.append(client)
        return client

    def remove(self, client: JpegClient) -> None:
        if client in self.clients:
            self.clients.remove(client)
        if not client.done.done():
            client.done.set_result(None)

    def deliver(self, still: Still, now: float) -> None:
        for client in list(self.clients):
            self.deliver_to(client, still, now)

    def deliver_to(self, client: JpegClient, still: Still, now: float) -> None:
        sink = client.sink
        if sink.is_closing():
            self.remove(client)
        elif client.cap.wait(now) > 0:
            return
        elif sink.get_write_buffer_size() > self.limit:
            client.skipped += 1
        else:
            sink.write(still.chunk if client.chunked else still.part)
            client.cap.sent(now)
            client.sent += 1

    def close(self) -> None:
        """The camera is gone: every client's answer ends."""
        for client in list(self.clients):
            self.remove(client)
