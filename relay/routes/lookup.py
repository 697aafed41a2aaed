"""The camera a route's ``{name}`` names, or a JSON 404."""

from __future__ import annotations

import json

from aiohttp import web

from ..cameras import Camera
from .keys import CAMERAS


def camera_or_404(request: web.Request) -> Camera:
    name = request.match_info["name"]
    cam = request.app[CAMERAS].get(name)
    if cam is None:
        raise web.HTTPNotFound(
            text=json.dumps({"error": "not_found", "message": f"no camera named {name!r}"}),
            content_type="application/json",
        )
    return cam
