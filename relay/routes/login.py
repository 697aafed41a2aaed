"""``/login`` and ``/logout``: password login with a session cookie."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web

from .access import IDENTITY, AccessControl, same_origin
from .keys import ACCESS

MAX_FORM_BYTES = 8 * 1024


def _safe_next(target: str | None) -> str:
    """Only a path on this relay: a login must not send anyone elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return "/"  # a control character would break the Location header
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def _page(
    request: web.Request, status: int = 200, message: str = "", user: str = ""
) -> web.Response:
    access = request.app[ACCESS]
    return aiohttp_jinja2.render_template(
        "login.html",
        request,
        {
            "message": message,
            "user": user,
            "next": _safe_next(request.query.get("next")),
            "enabled": access.enabled,
            "identity": request.get(IDENTITY),
        },
        status=status,
    )


async def login_page(request: web.Request) -> web.Response:
    return _page(request)


async def login(request: web.Request) -> web.StreamResponse:
    access: AccessControl = request.app[ACCESS]
    if not access.enabled:
        raise web.HTTPNotFound(text="access control is off: there is nothing to log in to")
    if not same_origin(request):
        # A form on another site must not log a visitor in as someone else.
        raise web.HTTPForbidden(text="a login must come from this relay's own page")
    if (request.content_length or 0) > MAX_FORM_BYTES:
        raise web.HTTPRequestEntityTooLarge(MAX_FORM_BYTES, request.content_length or 0)
    form = await request.post()
    name = str(form.get("user", ""))[:64]
    password = str(form.get("password", ""))[:1024]
    target = _safe_next(str(form.get("next", "")) or request.query.get("next"))
    remote = request.remote
    key = f"{name}@{remote}"
    locked = access.lockout.locked_for(key, time.monotonic())
    if locked:
        access.audit.record("login_refused", name, remote, reason="locked out")
        response = _page(
            request, 429, f"Too many wrong passwords: try again in {locked:.0f} s.", name
        )
        response.headers["Retry-After"] = str(max(1, round(locked + 0.5)))
        return response
    identity = await access.check_password(name, password)
    if identity is None:
        access.lockout.failed(key, time.monotonic())
        access.audit.record("login_failed", name or "(no name)", remote)
        return _page(request, 401, "Wrong user name or password.", name)
    access.lockout.succeeded(key)
    await access.start_login(request, identity)
    access.audit.record("login", identity.name, remote, role=identity.role.label)
    return web.Response(status=303, headers={"Location": target})


async def logout(request: web.Request) -> web.StreamResponse:
    access: AccessControl = request.app[ACCESS]
    if not same_origin(request):
        raise web.HTTPForbidden(text="a logout must come from this relay's own page")
    ended = await access.end_login(request)
    if ended is not None:
        access.audit.record("logout", ended.user, request.remote)
    return web.Response(status=303, headers={"Location": "/login"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
