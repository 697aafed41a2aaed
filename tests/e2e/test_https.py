"""HTTPS for real: ``esp32-relay`` started with ``[tls]`` and a certificate made here;
Chromium (told to trust it) plays the kiosk page, which takes its Wake Lock in the secure
context, and every page carries the security headers."""

from __future__ import annotations

import ssl
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser

from relay.testing.access import TOKENS, auth_config
from relay.testing.browser import wait_for_live_code
from relay.testing.certs import make_certificate
from relay.testing.process import auth_toml, free_port, relay_process

pytestmark = [pytest.mark.network, pytest.mark.browser]


def _config(tmp: Path) -> Path:
    cert, key = make_certificate(tmp, ["127.0.0.1", "localhost"])
    config = tmp / "relay.toml"
    config.write_text(
        f'host = "127.0.0.1"\nport = {free_port()}\n[tls]\ncert = "{cert}"\nkey = "{key}"\n'
        + auth_toml(auth_config())
    )
    return config


async def test_https_pages_headers_video_and_wake_lock(browser: Browser, tmp_path: Path) -> None:
    async with relay_process(_config(tmp_path), "https") as relay:
        base = relay.base
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
            await wait_for_live_code(page, 20)  # live video over HTTPS
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
