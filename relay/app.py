"""Assembles the aiohttp application: cameras, WebRTC signaling, pages and the JSON API.

This is the one place where the camera side (``relay``) and the WebRTC side
(``signaling``) meet; each knows nothing of the other.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from signaling.datachannel import MAX_MESSAGE_BYTES, control_channel, valid_id
from signaling.ice import IcePolicy
from signaling.peers import PeerManager
from signaling.whep import WhepEndpoints, WhepStream, json_error

from . import controlschema
from .cameras import Camera, Cameras
from .config import ProcessorConfig, RelayConfig
from .processing import CameraChannel, RequestError, metrics_text

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

CAMERAS: web.AppKey[Cameras] = web.AppKey("cameras", Cameras)
PEERS: web.AppKey[PeerManager] = web.AppKey("peers", PeerManager)
CONFIG: web.AppKey[RelayConfig] = web.AppKey("config", RelayConfig)


def create_app(cfg: RelayConfig | Sequence[str] | None = None) -> web.Application:
    """The relay as an aiohttp application, for process managers and ``python -m aiohttp.web``.

    ``python -m aiohttp.web -H 0.0.0.0 -P 8080 relay.app:create_app --camera URL`` passes the
    arguments after the factory as a list: they are read like ``esp32-relay``'s own.
    """
    if cfg is None:
        cfg = RelayConfig()
    elif not isinstance(cfg, RelayConfig):
        from .cli import config_from_argv

        cfg = config_from_argv(list(cfg))
    app = web.Application(client_max_size=1024 * 1024)
    cameras = Cameras(cfg)
    peers = PeerManager(
        IcePolicy(servers=cfg.ice.servers, addresses=cfg.ice.addresses),
        zero_playout_delay=cfg.zero_playout_delay,
    )
    app[CONFIG] = cfg
    app[CAMERAS] = cameras
    app[PEERS] = peers

    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
    )

    def resolve(name: str) -> WhepStream | None:
        cam = cameras.get(name)
        if cam is None:
            return None
        return WhepStream(
            source=cam.pipeline.fanout,
            max_viewers=cfg.max_viewers,
            on_datachannel=control_channel(CameraChannel(cam.control, cam.processing)),
        )

    WhepEndpoints(peers, resolve, cfg.default_camera).add_routes(app)
    app.router.add_get("/", viewer_page)
    app.router.add_get("/kiosk", kiosk_page)
    app.router.add_get("/api/cameras", api_cameras)
    app.router.add_get("/api/cameras/{name}", api_camera)
    app.router.add_post("/api/cameras/{name}/control", api_control)
    app.router.add_get("/api/cameras/{name}/processors", api_processors)
    app.router.add_put("/api/cameras/{name}/processors", api_processors_replace)
    app.router.add_post("/api/cameras/{name}/processors", api_processors_request)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_static("/static/", WEB_DIR / "static", name="static")
    app.cleanup_ctx.append(_lifecycle)
    return app


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    cameras = app[CAMERAS]
    await cameras.start()
    yield
    await app[PEERS].close_all()
    await cameras.stop()


def _camera_or_404(request: web.Request) -> Camera:
    name = request.match_info["name"]
    cam = request.app[CAMERAS].get(name)
    if cam is None:
        raise web.HTTPNotFound(
            text=json.dumps({"error": "not_found", "message": f"no camera named {name!r}"}),
            content_type="application/json",
        )
    return cam


def _camera_info(app: web.Application, cam: Camera) -> dict[str, Any]:
    return cam.info(viewers=app[PEERS].count(cam.name))


async def viewer_page(request: web.Request) -> web.Response:
    cfg = request.app[CONFIG]
    name = request.query.get("camera", cfg.default_camera)
    if request.app[CAMERAS].get(name) is None:
        return json_error(404, "not_found", f"no camera named {name!r}")
    ice = [dict(s) for s in cfg.ice.servers]
    return aiohttp_jinja2.render_template(
        "viewer.html",
        request,
        {
            "camera": name,
            "cameras": [c.name for c in cfg.cameras],
            "ice_servers": json.dumps(ice),
            "control_schema": json.dumps(controlschema.schema()),
        },
    )


async def kiosk_page(request: web.Request) -> web.Response:
    """``GET /kiosk?camera=NAME``: full-screen video for a wall display, recovers by itself."""
    cfg = request.app[CONFIG]
    name = request.query.get("camera", cfg.default_camera)
    if request.app[CAMERAS].get(name) is None:
        return json_error(404, "not_found", f"no camera named {name!r}")
    ice = [dict(s) for s in cfg.ice.servers]
    return aiohttp_jinja2.render_template(
        "kiosk.html", request, {"camera": name, "ice_servers": json.dumps(ice)}
    )


async def api_cameras(request: web.Request) -> web.Response:
    cams = request.app[CAMERAS].by_name.values()
    return web.json_response([_camera_info(request.app, c) for c in cams])


async def api_camera(request: web.Request) -> web.Response:
    return web.json_response(_camera_info(request.app, _camera_or_404(request)))


# HTTP status for each error code of the control protocol.
CONTROL_HTTP_STATUS = MappingProxyType(
    {
        "invalid": 400,
        "forbidden": 403,
        "busy": 429,
        "camera_rejected": 502,
        "camera_unreachable": 502,
        "timeout": 504,
    }
)


async def api_control(request: web.Request) -> web.Response:
    """``POST /api/cameras/{name}/control``: one request of the data channel protocol over HTTP.

    The body is ``{"var": ..., "val": ...}`` (``op`` defaults to ``set``) or ``{"op": "get"}``;
    ``id`` is optional and echoed. The reply is the data channel's reply.
    """
    cam = _camera_or_404(request)
    if cam.control is None:
        return json_error(503, "not_ready", f"camera {cam.name!r} has no control server")
    limit = MAX_MESSAGE_BYTES
    if request.content_length is not None and request.content_length > limit:
        return json_error(413, "too_large", f"control requests are limited to {limit} bytes")
    body = await request.content.read(limit + 1)
    if len(body) > limit:
        return json_error(413, "too_large", f"control requests are limited to {limit} bytes")
    try:
        data = json.loads(body)
    except ValueError as exc:
        return json_error(400, "invalid", f"not JSON: {exc}")
    if not isinstance(data, dict):
        return json_error(400, "invalid", "the body must be a JSON object")
    if data.get("id") is not None and not valid_id(data["id"]):
        return json_error(400, "invalid", "'id' must be a string or an integer")
    message = {"op": "set", **data}
    reply = await cam.control.handle(message)
    out = {"id": data.get("id"), **reply}
    status = 200 if reply.get("ok") else CONTROL_HTTP_STATUS.get(reply.get("error", ""), 502)
    return web.json_response(out, status=status)


class _BadBody(Exception):
    def __init__(self, response: web.Response) -> None:
        self.response = response


async def _json_body(request: web.Request, limit: int = 64 * 1024) -> Any:
    """The request's JSON body; raises _BadBody with the error answer."""
    body = await request.content.read(limit + 1)
    if len(body) > limit:
        raise _BadBody(json_error(413, "too_large", f"requests are limited to {limit} bytes"))
    try:
        return json.loads(body)
    except ValueError as exc:
        raise _BadBody(json_error(400, "invalid", f"not JSON: {exc}")) from None


async def api_processors(request: web.Request) -> web.Response:
    """``GET /api/cameras/{name}/processors``: the chain, what may be added, recent events."""
    proc = _camera_or_404(request).processing
    return web.json_response(
        {
            "processors": proc.describe(),
            "available": proc.available(),
            "events": list(proc.events),
        }
    )


async def api_processors_request(request: web.Request) -> web.Response:
    """``POST /api/cameras/{name}/processors``: one data channel request (``action`` ...)."""
    proc = _camera_or_404(request).processing
    try:
        data = await _json_body(request)
    except _BadBody as bad:
        return bad.response
    if not isinstance(data, dict):
        return json_error(400, "invalid", "the body must be a JSON object")
    reply = await proc.handle({**data, "op": "processors"})
    out = {"id": data.get("id"), **reply}
    return web.json_response(out, status=200 if reply.get("ok") else 400)


async def api_processors_replace(request: web.Request) -> web.Response:
    """``PUT /api/cameras/{name}/processors``: a new chain, ``[{name, id?, enabled?, params?}]``."""
    proc = _camera_or_404(request).processing
    try:
        data = await _json_body(request)
    except _BadBody as bad:
        return bad.response
    if isinstance(data, dict):
        data = data.get("processors")
    if not isinstance(data, list):
        return json_error(400, "invalid", "the body must be a list of processors")
    specs = []
    for item in data:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("name"), str)
            or not isinstance(item.get("id", ""), str)
            or not isinstance(item.get("enabled", True), bool)
            or not isinstance(item.get("params", {}), dict)
            or set(item) - {"name", "id", "enabled", "params"}
        ):
            return json_error(
                400, "invalid", "each processor is {name, id?, enabled?, params?}: " + repr(item)
            )
        specs.append(ProcessorConfig(**item))
    try:
        await asyncio.to_thread(proc.replace_all, specs)
    except RequestError as exc:
        return json_error(400, "invalid", str(exc))
    proc.push_state()
    return web.json_response({"ok": True, "processors": proc.describe()})


async def metrics(request: web.Request) -> web.Response:
    """``GET /metrics``: Prometheus text format."""
    cams = request.app[CAMERAS].by_name.values()
    return web.Response(
        text=metrics_text(c.processing for c in cams),
        content_type="text/plain",
        charset="utf-8",
        headers={"X-Content-Type-Options": "nosniff"},
    )


async def healthz(request: web.Request) -> web.Response:
    """Alive; with the counts a soak test watches for leaks."""
    return web.json_response(
        {
            "ok": True,
            "sessions": request.app[PEERS].count(),
            "tasks": len(asyncio.all_tasks()),
        }
    )


async def readyz(request: web.Request) -> web.Response:
    cams = request.app[CAMERAS].by_name.values()
    waiting = [c.name for c in cams if not c.connected]
    if waiting:
        return web.json_response(
            {"error": "not_ready", "message": f"cameras not streaming: {', '.join(waiting)}"},
            status=503,
        )
    return web.json_response({"ok": True})
