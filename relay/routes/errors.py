"""Every error in the interface's shape: JSON for the API and WHEP, a small page for people.

aiohttp answers unknown routes and wrong methods in plain text (``404: Not Found``).
This middleware turns every HTTP error, and any exception a handler lets through, into
``{"error": CODE, "message": TEXT}`` with the same status (and headers, such as
``Allow`` on a 405), or, for a browser asking for a page, an HTML page saying the same.
A handler that fails is logged and answered 500; the relay goes on serving.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus

import aiohttp_jinja2
from aiohttp import web

from signaling.whep import json_error

from .access import IDENTITY
from .keys import ACCESS, CONFIG

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Machine-facing paths: always JSON, whatever the client accepts.
API_PREFIXES = ("/api/", "/whep", "/metrics", "/healthz", "/readyz")

CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "busy",
    500: "internal",
    503: "not_ready",
}


def wants_page(request: web.Request) -> bool:
    """A person's browser navigating, not a script: HTML when it asks for HTML first."""
    path = request.path
    if path.startswith(API_PREFIXES) or "/whep" in path:
        return False
    accept = request.headers.get("Accept", "")
    html = accept.find("text/html")
    json_at = accept.find("application/json")
    return html >= 0 and (json_at < 0 or html < json_at)


def error_response(
    request: web.Request, status: int, message: str, headers: dict[str, str] | None = None
) -> web.StreamResponse:
    code = CODES.get(status, "error")
    if wants_page(request):
        response = aiohttp_jinja2.render_template(
            "error.html",
            request,
            {
                "status": status,
                "reason": HTTPStatus(status).phrase,
                "message": message,
                "cameras": _cameras_shown(request),
            },
            status=status,
        )
    else:
        response = json_error(status, code, message)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _cameras_shown(request: web.Request) -> list[str]:
    """The cameras an error page links to: those the asker may use (none for a stranger)."""
    cfg = request.app.get(CONFIG)
    if cfg is None:
        return []
    access = request.app.get(ACCESS)
    identity = request.get(IDENTITY)
    if access is not None and access.enabled and identity is None:
        return []
    return [c.name for c in cfg.cameras if identity is None or identity.may_use(c.name)]


def _message(exc: web.HTTPException) -> str:
    text = exc.text or ""
    # aiohttp's own bodies say "404: Not Found": say what was asked instead.
    if not text or text == f"{exc.status}: {exc.reason}":
        if exc.status == 404:
            return "nothing here: no such page or route"
        if exc.status == 405:
            allowed = exc.headers.get("Allow", "")
            return f"this route does not answer that method; it answers {allowed}"
        return exc.reason
    return text


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        keep = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "www-authenticate")}
        return error_response(request, exc.status, _message(exc), keep)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return error_response(request, 500, "the relay failed to answer this request")
