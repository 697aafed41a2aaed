"""Security headers on every answer, and the ``[http]`` section that tunes them.

The pages load their scripts from ``/static`` only (no inline script, so a Content
Security Policy without ``'unsafe-inline'`` holds), talk only to their own origin, and
may be framed only where configured: the kiosk by the dashboards listed in
``kiosk_frame_ancestors`` (Home Assistant, MagicMirror), every other page by nobody.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from aiohttp import web
from pydantic import AfterValidator

from ..common.settings import SECTION

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HSTS = "max-age=31536000"


def _csp_sources(sources: tuple[str, ...]) -> tuple[str, ...]:
    if not all(s and ";" not in s for s in sources):
        raise ValueError("must be a list of CSP sources (no ';')")
    return sources


@dataclass(frozen=True)
class HttpConfig:
    __pydantic_config__ = SECTION

    # Who may show the kiosk page in a frame: CSP frame-ancestors sources.
    kiosk_frame_ancestors: Annotated[tuple[str, ...], AfterValidator(_csp_sources)] = ("'self'",)


def content_security_policy(frame_ancestors: str) -> str:
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:;"
        " media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none';"
        f" form-action 'self'; frame-ancestors {frame_ancestors}"
    )


def headers_middleware(
    cfg: HttpConfig, https: bool
) -> Callable[..., Awaitable[web.StreamResponse]]:
    page_csp = content_security_policy("'none'")
    kiosk_csp = content_security_policy(" ".join(cfg.kiosk_frame_ancestors) or "'none'")

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        h = response.headers
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "no-referrer")
        if response.content_type == "text/html":
            kiosk = request.path == "/kiosk"
            h.setdefault("Content-Security-Policy", kiosk_csp if kiosk else page_csp)
            if not kiosk:
                h.setdefault("X-Frame-Options", "DENY")
            h.setdefault("Cache-Control", "no-store")
        if https:
            h.setdefault("Strict-Transport-Security", HSTS)
        return response

    return middleware
