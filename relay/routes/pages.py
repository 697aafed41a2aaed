"""The pages: a camera's viewer page and the kiosk page for wall displays.

Each page's settings travel in one JSON data block (``<script type="application/json"
id="page-config">``) read by its module script from ``/static``: no inline script, so
the Content Security Policy (:mod:`relay.routes.headers`) needs no ``'unsafe-inline'``.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from ..access.roles import ANYONE, Role
from ..control import schema
from .access import IDENTITY, LOGIN, VIA
from .keys import ACCESS, CAMERAS, CONFIG


def _visible(request: web.Request) -> list[str]:
    """The cameras this request's identity may use, in the configuration's order."""
    identity = request.get(IDENTITY, ANYONE)
    allowed = [n for n in request.app[CAMERAS].names() if identity.may_use(n)]
    if not allowed:
        raise web.HTTPForbidden(text=f"{identity.name} may not use any camera here")
    return allowed


def _context(request: web.Request, name: str, cameras: list[str]) -> dict[str, Any]:
    """What a page needs to connect (ICE servers for this session, the token of a kiosk
    URL) and who is watching."""
    cfg = request.app[CONFIG]
    identity = request.get(IDENTITY, ANYONE)
    access = request.app[ACCESS]
    page = {
        "camera": name,
        "cameras": cameras,
        "iceServers": cfg.ice.servers_for(identity.name),
        "iceTransportPolicy": "relay" if cfg.ice.relay_only else "all",
        # A kiosk URL carries its token; the page sends it with its WHEP requests.
        "token": request.query.get("token") if request.get(VIA) == "query" else None,
        "identity": identity.describe(),
        "open": not access.enabled,
        "mayControl": identity.may(Role.OPERATOR, name),
        "isAdmin": access.enabled and identity.may(Role.ADMIN),
    }
    return {
        "camera": name,
        "cameras": cameras,
        "identity": identity,
        "open": not access.enabled,
        "logged_in": request.get(LOGIN) is not None,
        "page_config": page,
    }


def _camera(request: web.Request, name: str) -> str:
    # Permission first: a restricted identity must not learn which other cameras exist.
    identity = request.get(IDENTITY, ANYONE)
    if not identity.may_use(name):
        raise web.HTTPForbidden(text=f"{identity.name} may not use camera {name!r}")
    if request.app[CAMERAS].get(name) is None:
        raise web.HTTPNotFound(text=f"no camera named {name!r}")
    return name


def _viewer(request: web.Request, name: str) -> web.Response:
    context = _context(request, _camera(request, name), _visible(request))
    return aiohttp_jinja2.render_template(
        "viewer.html", request, {**context, "control_schema": json.dumps(schema.schema())}
    )


async def index_page(request: web.Request) -> web.Response:
    """``GET /``: one camera (or ``?camera=``): its viewer page; several: a grid of live
    tiles, each opening the camera's own page."""
    visible = _visible(request)
    if "camera" in request.query:
        return _viewer(request, request.query["camera"])
    if len(visible) == 1:
        return _viewer(request, visible[0])
    return aiohttp_jinja2.render_template(
        "grid.html", request, {**_context(request, visible[0], visible), "kiosk": False}
    )


async def camera_page(request: web.Request) -> web.Response:
    """``GET /cameras/{name}``: live video, camera controls, processing, stream stats."""
    return _viewer(request, request.match_info["name"])


def kiosk_cameras(request: web.Request) -> list[str]:
    """``?cameras=a,b`` (in that order) or ``all``: every one must exist and be allowed."""
    visible = _visible(request)
    wanted = request.query.get("cameras", "").strip()
    if wanted in ("", "all", "*"):
        return visible
    names = [n.strip() for n in wanted.split(",") if n.strip()]
    return [_camera(request, n) for n in dict.fromkeys(names)]


async def kiosk_page(request: web.Request) -> web.Response:
    """``GET /kiosk?camera=NAME``: full-screen video for a wall display, recovers by itself;
    ``?cameras=a,b`` or ``?cameras=all``: those cameras as a grid."""
    if "cameras" in request.query:
        names = kiosk_cameras(request)
        return aiohttp_jinja2.render_template(
            "grid.html", request, {**_context(request, names[0], names), "kiosk": True}
        )
    visible = _visible(request)
    name = _camera(request, request.query.get("camera", visible[0]))
    return aiohttp_jinja2.render_template("kiosk.html", request, _context(request, name, visible))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", index_page)
    app.router.add_get("/cameras/{name}", camera_page)
    app.router.add_get("/kiosk", kiosk_page)
