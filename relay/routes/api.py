"""The JSON API: cameras and their state, camera control, the processor chains."""

from __future__ import annotations

import asyncio
from types import MappingProxyType
from typing import Any

from aiohttp import web

from signaling.body import BodyTooLarge, read_body
from signaling.datachannel import MAX_MESSAGE_BYTES, valid_id
from signaling.jsontext import JsonError, read_json
from signaling.whep import json_error

from ..access.roles import ANYONE, Role
from ..cameras import Camera
from ..processing.chain import RequestError
from ..processing.config import ProcessorConfig
from .access import IDENTITY
from .keys import ACCESS, CAMERAS, PEERS
from .lookup import camera_or_404

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


def _camera_info(request: web.Request, cam: Camera) -> dict[str, Any]:
    info = cam.info(viewers=request.app[PEERS].count(cam.name))
    if not request.get(IDENTITY, ANYONE).may(Role.ADMIN):
        # The board's addresses: with them a viewer on the LAN could steer the board
        # directly, around the operator role.
        info.pop("stream_url", None)
        if isinstance(info.get("control"), dict):
            info["control"] = {k: v for k, v in info["control"].items() if k != "url"}
    return info


def _audit(request: web.Request, what: str, camera: str, /, **detail: Any) -> None:
    who = request.get(IDENTITY, ANYONE).name
    request.app[ACCESS].audit.record(what, who, request.remote, camera, **detail)


async def api_cameras(request: web.Request) -> web.Response:
    """``GET /api/cameras``: the cameras this identity may use."""
    identity = request.get(IDENTITY, ANYONE)
    cams = [c for c in request.app[CAMERAS].by_name.values() if identity.may_use(c.name)]
    return web.json_response([_camera_info(request, c) for c in cams])


async def api_camera(request: web.Request) -> web.Response:
    return web.json_response(_camera_info(request, camera_or_404(request)))


async def api_control(request: web.Request) -> web.Response:
    """``POST /api/cameras/{name}/control``: one request of the data channel protocol over HTTP.

    The body is ``{"var": ..., "val": ...}`` (``op`` defaults to ``set``) or ``{"op": "get"}``;
    ``id`` is optional and echoed. The reply is the data channel's reply.
    """
    cam = camera_or_404(request)
    if cam.control is None:
        return json_error(503, "not_ready", f"camera {cam.name!r} has no control server")
    try:
        data = await _json_body(request, MAX_MESSAGE_BYTES)
    except _BadBody as bad:
        return bad.response
    if not isinstance(data, dict):
        return json_error(400, "invalid", "the body must be a JSON object")
    if data.get("id") is not None and not valid_id(data["id"]):
        return json_error(400, "invalid", "'id' must be a string or an integer")
    message = {"op": "set", **data}
    reply = await cam.control.handle(message)
    if message.get("op") == "set" and reply.get("ok"):
        _audit(request, "control", cam.name, var=reply.get("var"), val=reply.get("val"))
    out = {"id": data.get("id"), **reply}
    status = 200 if reply.get("ok") else CONTROL_HTTP_STATUS.get(reply.get("error", ""), 502)
    return web.json_response(out, status=status)


class _BadBody(Exception):
    def __init__(self, response: web.Response) -> None:
        self.response = response


async def _json_body(request: web.Request, limit: int = 64 * 1024) -> Any:
    """The request's JSON body, read as the data channel reads its messages (same limits,
    same messages); raises _BadBody with the error answer."""
    try:
        body = await read_body(request, limit)
    except BodyTooLarge as exc:
        raise _BadBody(json_error(413, "too_large", str(exc))) from None
    try:
        return read_json(body, limit)
    except JsonError as exc:
        status, code = (413, "too_large") if exc.too_large else (400, "invalid")
        raise _BadBody(json_error(status, code, str(exc))) from None


async def api_processors(request: web.Request) -> web.Response:
    """``GET /api/cameras/{name}/processors``: the chain, what may be added, recent events."""
    proc = camera_or_404(request).processing
    return web.json_response(
        {
            "processors": proc.describe(),
            "available": proc.available(),
            "events": list(proc.events),
        }
    )


async def api_processors_request(request: web.Request) -> web.Response:
    """``POST /api/cameras/{name}/processors``: one data channel request (``action`` ...)."""
    cam = camera_or_404(request)
    proc = cam.processing
    try:
        data = await _json_body(request)
    except _BadBody as bad:
        return bad.response
    if not isinstance(data, dict):
        return json_error(400, "invalid", "the body must be a JSON object")
    reply = await proc.handle({**data, "op": "processors"})
    if reply.get("ok") and data.get("action", "list") != "list":
        _audit(request, "processors", cam.name, **{k: v for k, v in data.items() if k != "id"})
    out = {"id": data.get("id"), **reply}
    return web.json_response(out, status=200 if reply.get("ok") else 400)


async def api_processors_replace(request: web.Request) -> web.Response:
    """``PUT /api/cameras/{name}/processors``: a new chain, ``[{name, id?, enabled?, params?}]``."""
    cam = camera_or_404(request)
    proc = cam.processing
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
    _audit(request, "processors", cam.name, action="replace", chain=[p.name for p in specs])
    return web.json_response({"ok": True, "processors": proc.describe()})


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/cameras", api_cameras)
    r.add_get("/api/cameras/{name}", api_camera)
    r.add_post("/api/cameras/{name}/control", api_control)
    r.add_get("/api/cameras/{name}/processors", api_processors)
    r.add_put("/api/cameras/{name}/processors", api_processors_replace)
    r.add_post("/api/cameras/{name}/processors", api_processors_request)
