"""The admins' view: connected viewers (``/api/sessions``), ending one, the audit log."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from signaling.peers import Session

from .access import IDENTITY
from .keys import ACCESS, PEERS

MAX_AUDIT = 1000


async def describe(session: Session) -> dict[str, Any]:
    owner = session.owner
    return {
        "id": session.id,
        "identity": owner.get("identity"),
        "role": owner.get("role"),
        "kind": owner.get("kind"),
        "camera": session.resource,
        "remote": session.remote,
        "since": session.started,
        "state": session.state,
        **await session.stats(),
    }


async def api_sessions(request: web.Request) -> web.Response:
    """``GET /api/sessions``: every WebRTC session, newest first."""
    sessions = sorted(request.app[PEERS].sessions.values(), key=lambda s: -s.started)
    described = await asyncio.gather(*(describe(s) for s in sessions))
    return web.json_response({"sessions": described, "at": time.time()})


async def api_end_session(request: web.Request) -> web.Response:
    """``DELETE /api/sessions/{id}``: end a viewer's session."""
    peers = request.app[PEERS]
    sid = request.match_info["id"]
    session = peers.sessions.get(sid)
    if session is None:
        raise web.HTTPNotFound(text=f"no session {sid!r}")
    who = request[IDENTITY].name
    request.app[ACCESS].audit.record(
        "session_ended",
        who,
        request.remote,
        session.resource,
        session=sid,
        owner=session.owner.get("identity"),
    )
    await peers.end(sid, f"{who} (admin) ended this session")
    return web.json_response({"ok": True, "id": sid})


async def api_audit(request: web.Request) -> web.Response:
    """``GET /api/audit?limit=N``: newest first."""
    try:
        limit = int(request.query.get("limit", MAX_AUDIT))
    except ValueError:
        raise web.HTTPBadRequest(text="limit must be a number") from None
    limit = max(1, min(limit, MAX_AUDIT))
    return web.json_response({"entries": request.app[ACCESS].audit.entries(limit)})


async def api_me(request: web.Request) -> web.Response:
    """``GET /api/me``: who the relay takes this request for, and whether access is open."""
    identity = request[IDENTITY]
    return web.json_response({**identity.describe(), "open": not request.app[ACCESS].enabled})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/me", api_me)
    app.router.add_get("/api/sessions", api_sessions)
    app.router.add_delete("/api/sessions/{id}", api_end_session)
    app.router.add_get("/api/audit", api_audit)
