"""Every registered route, asked with no credentials, a viewer's, an operator's and an
admin's: each answers as the README's route table says.

The expected role of each route is written here, apart from the relay's own rule table,
and the set of routes must match what the application registers: a route added later
without a line here (and a rule there) fails this test.
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest

from relay.config import CameraConfig, RelayConfig
from relay.testing.access import PASSWORDS, ROLES, TOKENS, USERS, auth_config
from relay.testing.relay import running_relay

# method, path pattern -> who may: "public", "viewer", "operator", "admin", or "setting"
# (the health routes and /metrics follow [auth] health / metrics).
EXPECTED: dict[tuple[str, str], str] = {
    ("GET", "/"): "viewer",
    ("GET", "/kiosk"): "viewer",
    ("GET", "/cameras/{name}"): "viewer",
    ("GET", "/login"): "public",
    ("POST", "/login"): "public",
    ("POST", "/logout"): "public",
    ("GET", "/static/{path}"): "public",
    ("POST", "/whep"): "viewer",
    ("OPTIONS", "/whep"): "public",
    ("POST", "/cameras/{name}/whep"): "viewer",
    ("OPTIONS", "/cameras/{name}/whep"): "public",
    ("DELETE", "/cameras/{name}/whep/{session}"): "viewer",
    ("PATCH", "/cameras/{name}/whep/{session}"): "viewer",
    ("OPTIONS", "/cameras/{name}/whep/{session}"): "public",
    ("GET", "/cameras/{name}/snapshot.jpg"): "viewer",
    ("GET", "/cameras/{name}/stream.mjpg"): "viewer",
    ("GET", "/api/me"): "viewer",
    ("GET", "/api/cameras"): "viewer",
    ("GET", "/api/cameras/{name}"): "viewer",
    ("POST", "/api/cameras/{name}/control"): "operator",
    ("GET", "/api/cameras/{name}/processors"): "viewer",
    ("PUT", "/api/cameras/{name}/processors"): "operator",
    ("POST", "/api/cameras/{name}/processors"): "operator",
    ("GET", "/api/sessions"): "admin",
    ("DELETE", "/api/sessions/{id}"): "admin",
    ("GET", "/api/audit"): "admin",
    ("GET", "/metrics"): "setting",
    ("GET", "/healthz"): "setting",
    ("GET", "/readyz"): "setting",
}
TIMEOUT = aiohttp.ClientTimeout(total=15)
PAGES = {("GET", "/"), ("GET", "/kiosk"), ("GET", "/cameras/{name}")}
RANK = {"viewer": 1, "operator": 2, "admin": 3}
FILL = {
    "name": "default",
    "session": "no-such-session",
    "id": "no-such-session",
    "path": "style.css",
}


def _routes(app: Any) -> set[tuple[str, str]]:
    out = set()
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        out.add((route.method, route.resource.canonical))
    return out


def _url(pattern: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: FILL[m.group(1)], pattern)


def _cfg(**auth: Any) -> RelayConfig:
    return RelayConfig(
        host="127.0.0.1", port=0, cameras=(CameraConfig(simulate=True),), auth=auth_config(**auth)
    )


async def _ask(
    http: aiohttp.ClientSession, base: str, method: str, path: str, token: str | None
) -> aiohttp.ClientResponse:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body: Any = None
    if method in ("POST", "PUT", "PATCH"):
        headers["Content-Type"] = "application/json"
        body = "{}"
    if path in ("/whep", "/cameras/default/whep") and method == "POST":
        headers["Content-Type"] = "application/sdp"
        body = "not an offer"
    async with http.request(
        method, base + path, headers=headers, data=body, allow_redirects=False
    ) as resp:
        if not path.endswith(".mjpg") or resp.status != 200:
            await resp.read()  # an MJPEG stream that is let through never ends
        return resp


async def test_the_route_table_covers_every_registered_route() -> None:
    async with running_relay(_cfg()) as relay:
        registered = _routes(relay.app)
    assert registered == set(EXPECTED), (
        f"routes without an expected role here: {sorted(registered - set(EXPECTED))}; "
        f"expected but not registered: {sorted(set(EXPECTED) - registered)}"
    )


@pytest.mark.parametrize("who", [None, *ROLES])
async def test_every_route_answers_each_identity_as_its_role_says(who: str | None) -> None:
    async with running_relay(_cfg()) as relay, aiohttp.ClientSession(timeout=TIMEOUT) as http:
        wrong = []
        for (method, pattern), needs in sorted(EXPECTED.items()):
            path = _url(pattern)
            resp = await _ask(http, relay.base, method, path, TOKENS[who] if who else None)
            status = resp.status
            if (method, pattern) == ("POST", "/login"):
                ok = status == 401  # no user name, no password: the login page says so
            elif needs in ("public", "setting"):
                ok = status not in (401, 403)
            elif who is None:
                if (method, pattern) in PAGES:
                    ok = status == 303 and resp.headers["Location"].startswith("/login?next=")
                else:
                    ok = status == 401 and resp.headers.get("WWW-Authenticate", "").startswith(
                        "Bearer"
                    )
            elif RANK[who] >= RANK[needs]:
                ok = status not in (401, 403)
            else:
                ok = status == 403
            if not ok:
                wrong.append(f"{method} {path} as {who}: {status} (needs {needs})")
        assert not wrong, "\n".join(wrong)


async def test_with_no_identity_configured_every_route_is_open() -> None:
    cfg = RelayConfig(host="127.0.0.1", port=0, cameras=(CameraConfig(simulate=True),))
    async with running_relay(cfg) as relay, aiohttp.ClientSession(timeout=TIMEOUT) as http:
        for method, pattern in sorted(EXPECTED):
            resp = await _ask(http, relay.base, method, _url(pattern), None)
            assert resp.status not in (401, 403), f"{method} {pattern}: {resp.status}"
        async with http.get(relay.base + "/", headers={"Accept": "text/html"}) as resp:
            page = await resp.text()
        assert 'data-access="open"' in page and "anyone who reaches this relay" in page


@pytest.mark.parametrize("setting", ["open", "token", "off"])
async def test_health_and_metrics_follow_their_own_setting(setting: str) -> None:
    cfg = _cfg(health=setting, metrics=setting)
    async with running_relay(cfg) as relay, aiohttp.ClientSession(timeout=TIMEOUT) as http:
        for path in ("/healthz", "/readyz", "/metrics"):
            anonymous = (await _ask(http, relay.base, "GET", path, None)).status
            viewer = (await _ask(http, relay.base, "GET", path, TOKENS["viewer"])).status
            if setting == "open":
                assert anonymous in (200, 503) and viewer in (200, 503), path
            elif setting == "token":
                assert anonymous == 401 and viewer in (200, 503), path
            else:
                assert anonymous == 404 and viewer == 404, path


async def test_an_identity_limited_to_one_camera_sees_and_uses_only_it() -> None:
    cfg = RelayConfig(
        host="127.0.0.1",
        port=0,
        cameras=(
            CameraConfig(name="garage", simulate=True),
            CameraConfig(name="hall", simulate=True),
        ),
        auth=auth_config(cameras={"viewer": ("hall",), "operator": ("hall",)}),
    )
    async with running_relay(cfg) as relay, aiohttp.ClientSession(timeout=TIMEOUT) as http:
        viewer = TOKENS["viewer"]
        async with http.get(
            relay.base + "/api/cameras", headers={"Authorization": f"Bearer {viewer}"}
        ) as r:
            assert [c["name"] for c in await r.json()] == ["hall"]
        assert (await _ask(http, relay.base, "GET", "/api/cameras/garage", viewer)).status == 403
        assert (await _ask(http, relay.base, "GET", "/api/cameras/hall", viewer)).status == 200
        op = TOKENS["operator"]
        resp = await _ask(http, relay.base, "POST", "/api/cameras/garage/control", op)
        assert resp.status == 403
        # The default camera's /whep is garage here: refused for an identity limited to hall.
        assert (await _ask(http, relay.base, "POST", "/whep", viewer)).status == 403
        # Its page opens on the camera it may use, not on the first one.
        async with http.get(relay.base + f"/?token={viewer}", headers={"Accept": "text/html"}) as r:
            assert r.status == 200 and '"camera": "hall"' in await r.text()
        async with http.get(
            relay.base + f"/?camera=garage&token={viewer}", headers={"Accept": "text/html"}
        ) as r:
            assert r.status == 403


async def test_a_login_page_is_the_answer_to_a_page_without_credentials() -> None:
    async with running_relay(_cfg()) as relay, aiohttp.ClientSession(timeout=TIMEOUT) as http:
        async with http.get(
            relay.base + "/kiosk?camera=default",
            headers={"Accept": "text/html"},
            allow_redirects=True,
        ) as resp:
            assert resp.status == 200 and resp.url.path == "/login"
            assert resp.url.query["next"] == "/kiosk?camera=default"
            assert 'name="password"' in await resp.text()
        # And with a user's password, back to the page asked for.
        form = {
            "user": USERS["viewer"],
            "password": PASSWORDS["viewer"],
            "next": "/kiosk?camera=default",
        }
        async with http.post(relay.base + "/login", data=form, allow_redirects=False) as resp:
            assert resp.status == 303 and resp.headers["Location"] == "/kiosk?camera=default"
