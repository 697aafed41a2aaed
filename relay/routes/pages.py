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


def _page_camera(request: web.Request) -> dict[str, Any]:
    """The camera a page shows (``?camera=``, else the first this identity may use), what
    the page needs to connect (ICE servers for this session, the token of a kiosk URL) and
    who is watching; a 404 for a camera that does not exist."""
    cfg = request.app[CONFIG]
    identity = request.get(IDENTITY, ANYONE)
    allowed = [c.name for c in cfg.cameras if identity.may_use(c.name)]
    if not allowed:
        raise web.HTTPForbidden(text=f"{identity.name} may not use any camera here")
    name = request.query.get("camera", allowed[0])
    if request.app[CAMERAS].get(name) is None:
        raise web.HTTPNotFound(text=f"no camera named {name!r}")
    access = request.app[ACCESS]
    login = request.get(LOGIN)
    page = {
        "camera": name,
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
        "cameras": allowed,
        "identity": identity,
        "open": not access.enabled,
        "logged_in": login is not None,
        "page_config": page,
    }


async def viewer_page(request: web.Request) -> web.Response:
    """``GET /``: live video, camera controls, processing, connection and stream stats."""
    context = _page_camera(request)
    return aiohttp_jinja2.render_template(
        "viewer.html",
        request,
        {**context, "control_schema": json.dumps(schema.schema())},
    )


async def kiosk_page(request: web.Request) -> web.Response:
    """``GET /kiosk?camera=NAME``: full-screen video for a wall display, recovers by itself."""
    return aiohttp_jinja2.render_template("kiosk.html", request, _page_camera(request))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", viewer_page)
    app.router.add_get("/kiosk", kiosk_page)
