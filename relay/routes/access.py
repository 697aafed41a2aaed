"""Access control over HTTP: who a request is (token, login cookie), and whether the
route it asks for lets that identity in.

Every route has a rule in :data:`relay.routes.rules.RULES`; the middleware refuses a
route without one (fail closed), and :func:`check_rules` refuses to assemble an
application with such a route, so a route added later without a rule fails every
test. With no user and no token configured every request is :data:`ANYONE`: the relay
is open, and says so.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp_session
from aiohttp import web
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet

from signaling.whep import json_error

from ..access.audit import AuditLog
from ..access.config import AuthConfig, LimitsConfig
from ..access.directory import Directory, user_identity
from ..access.logins import EndedLogins, Login
from ..access.passwords import Passwords
from ..access.ratelimit import Lockout, RateLimiter
from ..access.roles import ANYONE, Identity, Role
from .rules import Rule, rule_for

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

IDENTITY: web.RequestKey[Identity] = web.RequestKey("identity", Identity)
# The login a cookie carried (absent for tokens and open access).
LOGIN: web.RequestKey[Login] = web.RequestKey("login", Login)
# Where the identity came from: "cookie", "header", "query" or "open".
VIA: web.RequestKey[str] = web.RequestKey("via", str)
COOKIE_NAME = "esp32_relay_login"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Denied(Exception):
    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


class AccessControl:
    """The relay's identities, login sessions, limits and audit log; reloadable."""

    def __init__(self, auth: AuthConfig, limits: LimitsConfig, *, https: bool = False) -> None:
        self.directory = Directory(auth)
        self.passwords = Passwords()
        # Each Argon2 check takes 64 MiB and tens of ms of a core: a few at a time.
        self._checks = asyncio.Semaphore(2)
        self.audit = AuditLog()
        self.ended = EndedLogins()
        self.whep_limit = RateLimiter(limits.whep_burst, limits.whep_rate)
        self.login_limit = RateLimiter(limits.login_burst, limits.login_rate)
        self.lockout = Lockout(limits.lockout_failures, limits.lockout_seconds)
        self.cookie_key_is_fixed = bool(auth.cookie_key)
        key = auth.cookie_key.encode() if auth.cookie_key else Fernet.generate_key()
        self.storage = EncryptedCookieStorage(
            Fernet(key),
            cookie_name=COOKIE_NAME,
            httponly=True,
            samesite="Lax",  # no cookie on cross-site POSTs: no cross-site request forgery
            secure=https,
            max_age=int(auth.login_lifetime),
        )
        # A hash to check wrong user names against, so they take as long as wrong passwords.
        self._dummy_hash = ""
        # Called with a predicate on session owners: end the matching WebRTC sessions.
        self.end_sessions: Callable[[Callable[[Mapping[str, Any]], bool], str], Awaitable[int]]
        self.end_sessions = _no_sessions

    @property
    def enabled(self) -> bool:
        return self.directory.enabled

    @property
    def auth(self) -> AuthConfig:
        return self.directory.cfg

    async def reload(self, auth: AuthConfig) -> int:
        """New identities; ends the sessions whose credential is gone. Returns how many.

        Raises ValueError for a reload that would switch access control off or on: removing
        the last credential would open the relay to anyone as an admin, and a running
        relay's sessions were opened under the other rule. Either needs a restart.
        """
        if auth.enabled != self.enabled:
            raise ValueError(
                "this reload would switch access control "
                + ("off (no user or token left)" if self.enabled else "on")
                + "; restart the relay to do that"
            )
        self.directory = Directory(auth)
        if not self.enabled:
            return 0
        keys = self.directory.credential_keys()
        ended = await self.end_sessions(
            lambda owner: owner.get("key") not in keys, "its credential was removed or changed"
        )
        if ended:
            log.info("configuration reloaded: %d session(s) ended with their credential", ended)
        return ended

    # --- who is asking -------------------------------------------------------------

    async def identify(self, request: web.Request, query_token: bool = True) -> Identity | None:
        """The request's identity; None without credentials; raises Denied for bad ones.

        ``query_token``: whether ``?token=`` counts (pages and the JPEG routes only: a URL
        is logged, kept in history and shared more readily than a header)."""
        if not self.enabled:
            request[VIA] = "open"
            return ANYONE
        header = request.headers.get("Authorization")
        if header is not None:
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise Denied(401, "the Authorization header must be 'Bearer TOKEN'")
            identity = self.directory.by_token(value.strip())
            if identity is None:
                raise Denied(401, "this token is not valid")
            request[VIA] = "header"
            return identity
        in_query = request.query.get("token") if query_token else None
        if in_query is not None and request.method in ("GET", "HEAD"):
            identity = self.directory.by_token(in_query)
            if identity is None:
                raise Denied(401, "this token is not valid")
            request[VIA] = "query"
            return identity
        if COOKIE_NAME in request.cookies:
            return await self._from_cookie(request)
        return None

    async def _from_cookie(self, request: web.Request) -> Identity | None:
        session = await aiohttp_session.get_session(request)
        login = Login.from_cookie(session.get("login"))
        if login is None:
            if not session.new:
                session.invalidate()
            return None  # unreadable or tampered: as if there were no cookie
        now = time.time()
        why = login.expired(now, self.auth.login_idle, self.auth.login_lifetime)
        if why is None and self.ended.ended(login.id):
            why = "the login was ended"
        identity = None if why else self.directory.user_by_key(login.user, login.key)
        if identity is None:
            session.invalidate()
            return None
        if login.needs_touch(now):
            login = Login(login.user, login.key, login.id, login.issued, now)
            session["login"] = login.to_cookie()
        request[LOGIN] = login
        request[VIA] = "cookie"
        return identity

    # --- logging in and out --------------------------------------------------------

    async def check_password(self, name: str, password: str) -> Identity | None:
        user = self.directory.user(name)
        async with self._checks:
            if user is None:
                if not self._dummy_hash:
                    self._dummy_hash = await asyncio.to_thread(self.passwords.hash, "not it")
                await asyncio.to_thread(self.passwords.verify, self._dummy_hash, password)
                return None
            ok = await asyncio.to_thread(self.passwords.verify, user.password_hash, password)
        return user_identity(user) if ok else None

    async def start_login(self, request: web.Request, identity: Identity) -> Login:
        session = await aiohttp_session.new_session(request)
        login = Login.new(identity.name, identity.key, time.time())
        session["login"] = login.to_cookie()
        return login

    async def end_login(self, request: web.Request) -> Login | None:
        """Log out: the cookie is cleared, the login refused from now on, its sessions end."""
        login = request.get(LOGIN)
        if login is None and COOKIE_NAME in request.cookies:
            await self._from_cookie(request)  # a token in the header too: still this login
            login = request.get(LOGIN)
        session = await aiohttp_session.get_session(request)
        session.invalidate()
        if login is None:
            return None
        self.ended.end(login.id, login.issued + self.auth.login_lifetime, time.time())
        await self.end_sessions(lambda owner: owner.get("login") == login.id, "its login ended")
        return login

    # --- what it may do ------------------------------------------------------------

    def session_owner(self, request: web.Request) -> dict[str, Any]:
        """What a WebRTC session records of who opened it."""
        identity = request.get(IDENTITY, ANYONE)
        login = request.get(LOGIN)
        return {
            "identity": identity.name,
            "role": identity.role.label,
            "kind": identity.kind,
            "key": identity.key,
            "login": login.id if login else None,
        }


async def _no_sessions(_match: Callable[[Mapping[str, Any]], bool], _why: str) -> int:
    return 0


def _route_camera(request: web.Request, rule: Rule) -> str | None:
    if not rule.camera:
        return None
    name = request.match_info.get("name")
    if name is None and rule.camera_query:
        name = request.query.get("camera")
    return name


def _login_redirect(request: web.Request) -> web.StreamResponse:
    target = request.path_qs
    return web.Response(status=303, headers={"Location": f"/login?next={quote(target, safe='')}"})


def same_origin(request: web.Request) -> bool:
    """A browser's request from this relay's own pages (or from no page at all).

    Pages send ``Referrer-Policy: no-referrer``, under which Chromium's form posts carry
    ``Origin: null``; the browser's own ``Sec-Fetch-Site`` then says where they came from.
    """
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")
    return urlsplit(origin).netloc == request.host


def access_middleware(access: AccessControl) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        rule = rule_for(request)
        if rule is None:
            # A route without a rule is refused rather than left open (check_rules makes
            # this unreachable for the routes the application registers).
            log.error("no access rule for %s %s", request.method, request.path)
            return json_error(403, "forbidden", "this route has no access rule")
        try:
            await _admit(access, request, rule)
        except Denied as denied:
            return _denied_response(request, rule, denied)
        return await handler(request)

    return middleware


async def _admit(access: AccessControl, request: web.Request, rule: Rule) -> None:
    if rule.limit is not None:
        limiter = access.whep_limit if rule.limit == "whep" else access.login_limit
        wait = limiter.take(request.remote or "?", time.monotonic())
        if wait > 0:
            raise Denied(429, f"too many requests from {request.remote}; wait", wait)
    if rule.setting is not None:
        policy = getattr(access.auth, rule.setting)
        if policy == "off":
            raise Denied(404, "nothing here: this route is switched off")
        if policy == "open":
            return
    if rule.role is None and rule.setting is None:
        # Public (the login page, static files): who it is still helps the page.
        try:
            identity = await access.identify(request)
        except Denied:
            identity = None
        if identity is not None:
            request[IDENTITY] = identity
        return
    identity = await access.identify(request, query_token=rule.query_token)
    if identity is None:
        raise Denied(401, "credentials are needed: a bearer token, ?token= or a login")
    request[IDENTITY] = identity
    if request.get(VIA) == "cookie" and request.method in UNSAFE and not same_origin(request):
        raise Denied(403, "a cross-origin request cannot use the login cookie")
    role = rule.role or Role.VIEWER
    if not identity.may(role):
        raise Denied(
            403,
            f"this needs the {role.label} role; {identity.name} has the {identity.role.label} role",
        )
    camera = _route_camera(request, rule)
    if camera is not None and not identity.may_use(camera):
        raise Denied(403, f"{identity.name} may not use camera {camera!r}")


def _denied_response(request: web.Request, rule: Rule, denied: Denied) -> web.StreamResponse:
    from .errors import error_response

    if denied.status == 401 and rule.page:
        return _login_redirect(request)
    headers: dict[str, str] = {}
    if denied.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="esp32-relay"'
    if denied.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(denied.retry_after + 0.5)))
    return error_response(request, denied.status, denied.message, headers)


def check_rules(app: web.Application) -> None:
    """Raise if a registered route has no access rule: a route added without one would
    otherwise be refused at run time (or, worse, be forgotten in the README's table)."""
    from .rules import RULES

    missing = []
    for route in app.router.routes():
        canonical = route.resource.canonical if route.resource else ""
        method = "GET" if route.method == "HEAD" else route.method
        if (method, canonical) not in RULES:
            missing.append(f"{route.method} {canonical}")
    if missing:
        raise RuntimeError("routes without an access rule: " + ", ".join(sorted(missing)))
