"""The pages: a camera's viewer page and the kiosk page for wall displays."""

from __future__ import annotations

import json

import aiohttp_jinja2
from aiohttp import web

from ..control import schema
from .keys import CAMERAS, CONFIG


def _page_camera(request: web.Request) -> dict[str, str]:
    """The camera a page shows (``?camera=``, else the first) and the ICE servers it uses;
    a 404 for a camera that does not exist."""
    cfg = request.app[CONFIG]
    name = request.query.get("camera", cfg.default_camera)
    if request.app[CAMERAS].get(name) is None:
        raise web.HTTPNotFound(text=f"no camera named {name!r}")
    return {"camera": name, "ice_servers": json.dumps([dict(s) for s in cfg.ice.servers])}


async def viewer_page(request: web.Request) -> web.Response:
    """``GET /``: live video, camera controls, processing, connection and stream stats."""
    cfg = request.app[CONFIG]
    return aiohttp_jinja2.render_template(
        "viewer.html",
        request,
        {
            **_page_camera(request),
            "cameras": [c.name for c in cfg.cameras],
            "control_schema": json.dumps(schema.schema()),
        },
    )


async def kiosk_page(request: web.Request) -> web.Response:
    """``GET /kiosk?camera=NAME``: full-screen video for a wall display, recovers by itself."""
    return aiohttp_jinja2.render_template("kiosk.html", request, _page_camera(request))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", viewer_page)
    app.router.add_get("/kiosk", kiosk_page)
