"""HTTPS for real: ``esp32-relay`` started with ``[tls]`` and a certificate made here;
Chromium (told to trust it) plays the kiosk page, which takes its Wake Lock in the secure
context, and every page carries the security headers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser

from relay.testing.access import TOKENS, auth_config
from relay.testing.certs import make_certificate
from relay.video.framecode import elapsed_ms

pytestmark = [pytest.mark.network, pytest.mark.browser]

READ_CODE = """
async () => {
  const v = document.getElementById("video");
  if (!v || !v.videoWidth || !v.srcObject) return null;
  const { CodeReader } = await import("/static/framecode.js");
  return new CodeReader().read(v, v.videoWidth, v.videoHeight);
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _toml_auth() -> str:
    auth = auth_config()
    out = ["[auth]"]
    for u in auth.users:
        out += ["[[auth.users]]", f'name = "{u.name}"', f'password_hash = "{u.password_hash}"']
        out.append(f'role = "{u.role.label}"')
    for t in auth.tokens:
        out += ["[[auth.tokens]]", f'name = "{t.name}"', f'token = "{t.token}"']
        out.append(f'role = "{t.role.label}"')
    return "\n".join(out)


@contextlib.asynccontextmanager
async def https_relay(tmp: Path) -> AsyncIterator[str]:
    cert, key = make_certificate(tmp, ["127.0.0.1", "localhost"])
    port = _free_port()
    config = tmp / "relay.toml"
    config.write_text(
        f'host = "127.0.0.1"\nport = {port}\n[tls]\ncert = "{cert}"\nkey = "{key}"\n'
        + _toml_auth()
        + "\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "relay",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"https://127.0.0.1:{port}"
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = await asyncio.wait_for(proc.stdout.readline(), 20)
            assert line, "the relay exited before serving"
            if b"esp32-relay: open https://" in line:
                break
        yield base
    finally:
        proc.terminate()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await proc.wait()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_https_pages_headers_video_and_wake_lock(browser: Browser, tmp_path: Path) -> None:
    async with https_relay(tmp_path) as base:
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE
        connector = aiohttp.TCPConnector(ssl=insecure)
        async with aiohttp.ClientSession(connector=connector) as http:
            async with http.get(f"{base}/login") as r:
                assert r.status == 200
                h = r.headers
                assert h["Strict-Transport-Security"].startswith("max-age=")
                csp = h["Content-Security-Policy"]
                assert "script-src 'self'" in csp and "unsafe-inline" not in csp
                assert "frame-ancestors 'none'" in csp and h["X-Frame-Options"] == "DENY"
                assert h["X-Content-Type-Options"] == "nosniff"
                assert h["Referrer-Policy"] == "no-referrer"
            async with http.get(f"{base}/kiosk?token={TOKENS['viewer']}") as r:
                assert "frame-ancestors 'self'" in r.headers["Content-Security-Policy"]
                assert "X-Frame-Options" not in r.headers
            form = {"user": "viewer-user", "password": "viewer-password"}
            async with http.post(f"{base}/login", data=form, allow_redirects=False) as r:
                assert r.status == 303
                assert r.cookies["esp32_relay_login"]["secure"]

        context = await browser.new_context(ignore_https_errors=True)
        try:
            page = await context.new_page()
            violations: list[str] = []
            page.on(
                "console",
                lambda m: violations.append(m.text) if "Content Security" in m.text else None,
            )
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"{base}/kiosk?token={TOKENS['viewer']}")
            assert await page.evaluate("() => window.isSecureContext")
            deadline = time.monotonic() + 20
            code = None
            while time.monotonic() < deadline:
                code = await page.evaluate(READ_CODE)
                if code is not None and 0 <= elapsed_ms(code[0]) < 2000:
                    break
                await page.wait_for_timeout(100)
            assert code is not None and code[1] >= 0, "no live video over HTTPS"
            await page.wait_for_function(
                "() => document.body.dataset.wakeLock === 'held'", timeout=10000
            )
            # The viewer page too, with its controls, under the same policy.
            await page.goto(f"{base}/?token={TOKENS['operator']}")
            await page.wait_for_function(
                "() => window.relaySession && window.relaySession.state === 'connected'",
                timeout=20000,
            )
            assert not violations, violations
            assert not errors, errors
        finally:
            await context.close()
