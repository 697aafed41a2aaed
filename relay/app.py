"""Assembles the aiohttp application: cameras, WebRTC signaling, pages and the JSON API.

This is the one place where the camera side (``relay``) and the WebRTC side
(``signaling``) meet; each knows nothing of the other. The cameras' background
tasks live in ``cleanup_ctx``: started with the application, stopped with it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import aiohttp_jinja2
import jinja2
from aiohttp import web

from signaling.datachannel import control_channel
from signaling.peers import PeerManager
from signaling.whep import WhepEndpoints, WhepStream

from .argv import config_from_argv
from .cameras import Cameras
from .channel import CameraChannel
from .config import ConfigError, RelayConfig
from .routes import api, ops, pages
from .routes.assets import WEB_PACKAGE, static_files, web_root
from .routes.errors import error_middleware
from .routes.keys import CAMERAS, CONFIG, PEERS

__all__ = ["CAMERAS", "CONFIG", "PEERS", "create_app"]


def create_app(cfg: RelayConfig | Sequence[str] | None = None) -> web.Application:
    """The relay as an aiohttp application, for process managers and ``python -m aiohttp.web``.

    ``python -m aiohttp.web -H 0.0.0.0 -P 8080 relay.app:create_app --camera URL`` passes the
    arguments after the factory as a list: they are read like ``esp32-relay``'s own.
    """
    if cfg is None:
        cfg = RelayConfig()
    elif not isinstance(cfg, RelayConfig):
        cfg = config_from_argv(list(cfg))
    problems = cfg.ice.check()
    if problems:
        # Every answer would carry no candidate: video that never plays, silently.
        raise ConfigError("ice.addresses: " + "; ".join(problems))
    app = web.Application(client_max_size=1024 * 1024, middlewares=[error_middleware])
    cameras = Cameras(cfg)
    peers = PeerManager(cfg.ice, zero_playout_delay=cfg.zero_playout_delay)
    app[CONFIG] = cfg
    app[CAMERAS] = cameras
    app[PEERS] = peers

    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader(WEB_PACKAGE, "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
    )

    def resolve(name: str) -> WhepStream | None:
        cam = cameras.get(name)
        if cam is None:
            return None
        return WhepStream(
            source=cam.fanout,
            max_viewers=cfg.max_viewers,
            on_datachannel=control_channel(CameraChannel(cam.control, cam.processing)),
        )

    WhepEndpoints(peers, resolve, cfg.default_camera).add_routes(app)
    pages.add_routes(app)
    api.add_routes(app)
    ops.add_routes(app)
    app.router.add_get("/static/{path:.+}", static_files(web_root() / "static"), name="static")
    app.cleanup_ctx.append(_lifecycle)
    return app


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    cameras = app[CAMERAS]
    await cameras.start()
    yield
    await app[PEERS].close_all()
    await cameras.stop()
