"""For operators and their tools: Prometheus metrics, liveness and readiness."""

from __future__ import annotations

import asyncio

from aiohttp import web

from ..processing.metrics import metrics_text
from .keys import CAMERAS, PEERS


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
    """Ready once every camera streams."""
    cams = request.app[CAMERAS].by_name.values()
    waiting = [c.name for c in cams if not c.connected]
    if waiting:
        return web.json_response(
            {"error": "not_ready", "message": f"cameras not streaming: {', '.join(waiting)}"},
            status=503,
        )
    return web.json_response({"ok": True})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
