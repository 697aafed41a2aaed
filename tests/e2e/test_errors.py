"""Every error answers in the interface's shape: JSON for scripts, the API and WHEP; a
small HTML page for a browser asking for a page. Never aiohttp's plain text."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web

from relay.routes.errors import error_middleware
from relay.testing.browser import serve_app
from relay.testing.relay import RunningRelay

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
SCRIPT = {"Accept": "*/*"}


async def _json_error(r: aiohttp.ClientResponse, status: int, code: str) -> str:
    assert r.status == status, (r.url, r.status)
    assert r.content_type == "application/json", (r.url, r.content_type, await r.text())
    body = await r.json()
    assert body["error"] == code and body["message"], body
    return str(body["message"])


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/nope", 404, "not_found"),
        ("GET", "/api/nope", 404, "not_found"),
        ("GET", "/api/cameras/nope", 404, "not_found"),
        ("GET", "/cameras/default/whep", 405, "method_not_allowed"),
        ("GET", "/whep", 405, "method_not_allowed"),
        ("PUT", "/api/cameras", 405, "method_not_allowed"),
        ("DELETE", "/api/cameras/default/control", 405, "method_not_allowed"),
        ("POST", "/kiosk", 405, "method_not_allowed"),
        ("DELETE", "/cameras/default/whep/nope", 404, "not_found"),
        ("GET", "/static/nope.js", 404, "not_found"),
    ],
)
async def test_scripts_get_json_errors(
    relay: RunningRelay, http: aiohttp.ClientSession, method: str, path: str, status: int, code: str
) -> None:
    async with http.request(method, relay.base + path, headers=SCRIPT) as r:
        message = await _json_error(r, status, code)
        if status == 405:
            assert r.headers.get("Allow"), "a 405 says which methods the route answers"
            assert r.headers["Allow"] in message


async def test_api_and_whep_answer_json_even_to_a_browser(
    relay: RunningRelay, http: aiohttp.ClientSession
) -> None:
    for method, path in (("GET", "/api/nope"), ("GET", "/cameras/default/whep")):
        async with http.request(method, relay.base + path, headers=HTML) as r:
            assert r.content_type == "application/json", path


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/nope", 404, "no such page"),
        ("/?camera=nope", 404, "no camera named &#39;nope&#39;"),
        ("/kiosk?camera=nope", 404, "no camera named"),
    ],
)
async def test_browsers_get_a_small_error_page(
    relay: RunningRelay, http: aiohttp.ClientSession, path: str, status: int, says: str
) -> None:
    async with http.get(relay.base + path, headers=HTML) as r:
        assert r.status == status
        assert r.content_type == "text/html"
        page = await r.text()
        assert f"<h1>{status} Not Found</h1>" in page and says in page, page
        assert 'href="/cameras/default"' in page  # where to go instead


async def test_a_failing_handler_is_a_500_in_the_same_shape_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = web.Application(middlewares=[error_middleware])

    async def broken(_request: web.Request) -> web.Response:
        raise RuntimeError("boom")

    async def fine(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_get("/api/broken", broken)
    app.router.add_get("/api/fine", fine)
    async with serve_app(app) as base, aiohttp.ClientSession() as http:
        async with http.get(base + "/api/broken") as r:
            message = await _json_error(r, 500, "internal")
            assert "boom" not in message  # internals stay in the log
        async with http.get(base + "/api/fine") as r:
            assert r.status == 200
    assert any("GET /api/broken failed" in rec.getMessage() for rec in caplog.records)


@pytest.mark.parametrize(
    "path",
    ["/static/%2e%2e/app.py", "/static/%2e%2e/%2e%2e/pyproject.toml", "/static/", "/static/x/"],
)
async def test_static_files_stay_inside_their_folder(
    relay: RunningRelay, http: aiohttp.ClientSession, path: str
) -> None:
    async with http.get(relay.base + path, headers=SCRIPT) as r:
        assert r.status == 404, (path, r.status, (await r.text())[:200])
    async with http.get(relay.base + "/static/whep.js") as r:
        assert r.status == 200 and "javascript" in r.content_type
