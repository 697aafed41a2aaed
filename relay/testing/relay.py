"""Run the real relay application on a loopback port for tests and benchmarks."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from signaling.peers import PeerManager

from ..app import CAMERAS, PEERS, create_app
from ..cameras import Camera
from ..config import CameraConfig, RelayConfig
from ..control.config import ControlConfig
from ..ingest.config import StreamConfig


@dataclass
class RunningRelay:
    app: web.Application
    runner: web.AppRunner
    base: str  # http://127.0.0.1:PORT
    port: int = 0

    def camera(self, name: str = "default") -> Camera:
        cam = self.app[CAMERAS].get(name)
        assert cam is not None
        return cam

    @property
    def peers(self) -> PeerManager:
        return self.app[PEERS]

    def whep(self, name: str = "default") -> str:
        return f"{self.base}/cameras/{name}/whep"


def camera_at(
    stream_url: str, control_url: str | None = None, *, name: str = "default", **stream: Any
) -> CameraConfig:
    """A camera reading ``stream_url`` (a simulator's, say), with stream settings ``stream``."""
    return CameraConfig(
        name=name,
        stream=StreamConfig(url=stream_url, **stream),
        control=ControlConfig(url=control_url),
        frame_code=True,  # the simulator's frames are coded: placeholders too
    )


@contextlib.asynccontextmanager
async def running_relay(
    cfg: RelayConfig | None = None, host: str = "127.0.0.1"
) -> AsyncIterator[RunningRelay]:
    """``host``: where it listens (``0.0.0.0`` for viewers in other namespaces)."""
    cfg = cfg or RelayConfig(host="127.0.0.1", port=0)
    app = create_app(cfg)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield RunningRelay(app, runner, f"http://127.0.0.1:{port}", port)
    finally:
        await runner.cleanup()
