"""Assembles the aiohttp application: cameras, WebRTC signaling, pages and the JSON API,
and who may use them.

This is the one place where the camera side (``relay``) and the WebRTC side
(``signaling``) meet; each knows nothing of the other. The cameras' background
tasks live in ``cleanup_ctx``: started with the application, stopped with it.
"""

from __future__ import annotations

import ipaddress
import logging
import time
import warnings
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import aiohttp_jinja2
import aiohttp_session
import jinja2
from aiohttp import web

from signaling.datachannel import control_channel
from signaling.peers import PeerManager, Session
from signaling.whep import WhepEndpoints, WhepStream

from .access.ratelimit import RateLimiter
from .access.roles import ANYONE, Role
from .argv import config_from_argv
from .cameras import Cameras
from .channel import CameraChannel
from .config import ConfigError, RelayConfig
from .routes import api, jpeg, login, ops, pages, sessions
from .routes.access import IDENTITY, AccessControl, access_middleware, check_rules
from .routes.assets import WEB_PACKAGE, static_files, web_root
from .routes.errors import error_middleware
from .routes.headers import headers_middleware
from .routes.keys import ACCESS, CAMERAS, CONFIG, PEERS

__all__ = ["ACCESS", "CAMERAS", "CONFIG", "PEERS", "create_app"]

log = logging.getLogger(__name__)


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
    access = AccessControl(cfg.auth, cfg.limits, https=cfg.tls.enabled)
    # aiohttp-session keeps its storage under a string key, which aiohttp warns about on
    # every request's first use; the warning is about the library, not about this relay.
    warnings.filterwarnings("ignore", category=web.NotAppKeyWarning, module="aiohttp_session")
    app = web.Application(
        client_max_size=1024 * 1024,
        middlewares=[
            headers_middleware(cfg.http, https=cfg.tls.enabled),
            error_middleware,
            aiohttp_session.session_middleware(access.storage),
            access_middleware(access),
        ],
    )
    cameras = Cameras(cfg)
    peers = PeerManager(
        cfg.ice,
        zero_playout_delay=cfg.zero_playout_delay,
        max_negotiating=cfg.limits.max_negotiating,
    )
    access.end_sessions = peers.end_matching
    cameras.on_gone.append(peers.close_resource)
    app[CONFIG] = cfg
    app[CAMERAS] = cameras
    app[PEERS] = peers
    app[ACCESS] = access

    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader(WEB_PACKAGE, "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    limits = cfg.limits

    def channel_limit() -> Callable[[], bool]:
        bucket = RateLimiter(limits.channel_burst, limits.channel_rate, max_keys=1)
        return lambda: bucket.take("", time.monotonic()) == 0.0

    def resolve(name: str, request: web.Request) -> WhepStream | None:
        cam = cameras.get(name)
        if cam is None:
            return None
        identity = request.get(IDENTITY, ANYONE)
        if not identity.may_use(name):  # /whep names no camera: its rule could not check
            raise web.HTTPForbidden(text=f"{identity.name} may not use camera {name!r}")
        if access.enabled:
            held = sum(1 for s in peers.sessions.values() if s.owner.get("key") == identity.key)
            if held >= limits.sessions_per_identity:
                raise web.HTTPTooManyRequests(
                    text=f"{identity.name} already holds {held} sessions"
                    f" (limits.sessions_per_identity = {limits.sessions_per_identity})"
                )
        remote = request.remote

        def audit(action: str, detail: dict[str, Any]) -> None:
            access.audit.record(action, identity.name, remote, name, **detail)

        channel = CameraChannel(
            cam.control,
            cam.processing,
            may_steer=identity.may(Role.OPERATOR, name),
            audit=audit,
        )
        return WhepStream(
            source=cam.fanout,
            max_viewers=cfg.max_viewers,
            on_datachannel=control_channel(
                channel, allow=channel_limit, max_refusals=limits.channel_refusals
            ),
            owner=access.session_owner(request),
            ice_servers=cfg.ice.servers_for(identity.name),
        )

    def may_end(request: web.Request, session: Session) -> bool:
        identity = request.get(IDENTITY, ANYONE)
        return identity.may(Role.ADMIN) or session.owner.get("key") == identity.key

    def on_end(request: web.Request, session: Session) -> None:
        identity = request.get(IDENTITY, ANYONE)
        access.audit.record(
            "session_ended", identity.name, request.remote, session.resource, session=session.id
        )

    WhepEndpoints(peers, resolve, cfg.default_camera, may_end, on_end).add_routes(app)
    pages.add_routes(app)
    api.add_routes(app)
    jpeg.add_routes(app)
    ops.add_routes(app)
    login.add_routes(app)
    sessions.add_routes(app)
    app.router.add_get("/static/{path:.+}", static_files(web_root() / "static"), name="static")
    check_rules(app)
    app.cleanup_ctx.append(_lifecycle)
    return app


def access_warnings(cfg: RelayConfig, enabled: bool) -> list[str]:
    """What the start-up log says about who may use the relay."""
    if enabled:
        n_users, n_tokens = len(cfg.auth.users), len(cfg.auth.tokens)
        return [f"access control is on: {n_users} user(s), {n_tokens} token(s)"]
    lines = [
        "access control is off: no user or token is configured ([auth] in the configuration),"
        " so anyone who reaches this relay may watch every camera and change its settings"
    ]
    if not _is_loopback(cfg.host):
        lines.append(
            f"the relay listens on {cfg.host or 'every address'}, beyond this machine, with"
            " access control off: add [[auth.users]] or [[auth.tokens]], or listen on 127.0.0.1"
        )
    return lines


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    cfg, access = app[CONFIG], app[ACCESS]
    lines = access_warnings(cfg, access.enabled)
    if access.enabled:
        log.info(lines[0])
        if not access.cookie_key_is_fixed and cfg.auth.users:
            log.info("logins last until the relay restarts: set auth.cookie_key to keep them")
    else:
        log.warning(lines[0])
        for line in lines[1:]:
            log.warning(line)
    cameras = app[CAMERAS]
    await cameras.start()
    yield
    await app[PEERS].close_all()
    await cameras.stop()
