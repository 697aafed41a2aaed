"""For operators and their tools: Prometheus metrics, liveness and readiness."""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from ..metrics.collector import registry_for
from .keys import CAMERAS, PEERS

REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)


async def metrics(request: web.Request) -> web.Response:
    """``GET /metrics``: Prometheus text format, made by the official client library."""
    body = generate_latest(request.app[REGISTRY])
    return web.Response(
        body=body,
        headers={"Content-Type": CONTENT_TYPE_LATEST, "X-Content-Type-Options": "nosniff"},
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
    peers = app[PEERS]
    app[REGISTRY] = registry_for(lambda: app[CAMERAS].by_name.values(), peers.count)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
