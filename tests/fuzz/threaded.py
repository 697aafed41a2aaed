"""A running relay, with one viewer watching it, on an event loop in its own thread.

Hypothesis drives synchronous tests; the relay and its peers live on an asyncio loop.
Each example runs a coroutine on that loop and waits for it, so one relay (and its
watching viewer, which must keep playing whatever the fuzz sends) serves every example.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import aiohttp

from relay.access.config import LimitsConfig
from relay.config import RelayConfig
from relay.testing.access import TOKENS, auth_config
from relay.testing.relay import RunningRelay, running_relay
from relay.testing.whep import WhepViewer

T = TypeVar("T")


class ThreadedRelay:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fuzz-relay")
        self._stack = contextlib.AsyncExitStack()
        self.relay: RunningRelay
        self.http: aiohttp.ClientSession
        self.watcher: WhepViewer
        self.channel_viewer: WhepViewer

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self) -> None:
        # With access control on, as a remote relay runs: every example carries an admin's
        # token, so the fuzz reaches the handlers behind the checks. The per-address rate
        # limits are lifted: thousands of examples come from one address on purpose.
        cfg = RelayConfig(
            host="127.0.0.1",
            port=0,
            auth=auth_config(),
            limits=LimitsConfig(whep_burst=10**9, whep_rate=10**9, login_burst=10**9),
        )
        self.relay = await self._stack.enter_async_context(running_relay(cfg))
        self.http = await self._stack.enter_async_context(
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKENS['admin']}"})
        )
        self.watcher = WhepViewer(self.relay.whep())
        await self.watcher.connect(self.http)
        await self.watcher.wait_frames(5, timeout=20)
        self.channel_viewer = WhepViewer(self.relay.whep(), decode_code=False)
        await self.channel_viewer.connect(self.http, channel=True)
        await self.channel_viewer.wait_message(lambda m: m.get("op") == "state", timeout=15)

    async def _stop(self) -> None:
        await self.watcher.close(self.http)
        await self.channel_viewer.close(self.http)
        await self._stack.aclose()

    async def request(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, str, str]:
        async with self.http.request(
            method, self.relay.base + path, data=body, headers=headers
        ) as r:
            return r.status, r.content_type, await r.text()

    async def still_playing(self) -> int:
        """Ten more frames reach the watcher within 5 s (it must keep playing)."""
        return len(await self.watcher.wait_frames(10, timeout=5))

    def tasks(self) -> int:
        return len(asyncio.all_tasks(self.loop))


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@contextlib.contextmanager
def threaded_relay() -> Iterator[ThreadedRelay]:
    r = ThreadedRelay()
    r._thread.start()
    try:
        r.run(r._start(), timeout=60)
        yield r
    finally:
        with contextlib.suppress(Exception):
            r.run(r._stop(), timeout=30)
        r.loop.call_soon_threadsafe(r.loop.stop)
        r._thread.join(10)
        deadline = time.monotonic() + 5
        while r.loop.is_running() and time.monotonic() < deadline:
            time.sleep(0.05)
        r.loop.close()
