"""Run the real relay application on a loopback port for tests and benchmarks."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from relay.app import CAMERAS, PEERS, create_app
from relay.cameras import Camera
from relay.config import RelayConfig
from signaling.peers import PeerManager


@dataclass
class RunningRelay:
    app: web.Application
    runner: web.AppRunner
    base: str  # http://127.0.0.1:PORT

    def camera(self, name: str = "default") -> Camera:
        cam = self.app[CAMERAS].get(name)
        assert cam is not None
        return cam

    @property
    def peers(self) -> PeerManager:
        return self.app[PEERS]

    def whep(self, name: str = "default") -> str:
        return f"{self.base}/cameras/{name}/whep"


@contextlib.asynccontextmanager
async def running_relay(cfg: RelayConfig | None = None) -> AsyncIterator[RunningRelay]:
    cfg = cfg or RelayConfig(host="127.0.0.1", port=0)
    app = create_app(cfg)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield RunningRelay(app, runner, f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()
