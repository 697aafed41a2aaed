"""The pages with access control on, in headless Chromium: the login form, the admins'
sessions panel, and a viewer's page without the controls it may not use."""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from relay.config import CameraConfig, RelayConfig
from relay.testing.access import PASSWORDS, TOKENS, USERS, auth_config
from relay.testing.relay import running_relay

pytestmark = [pytest.mark.network, pytest.mark.browser]


def _cfg() -> RelayConfig:
    return RelayConfig(
        host="127.0.0.1", port=0, cameras=(CameraConfig(simulate=True),), auth=auth_config()
    )


async def test_an_admin_logs_in_and_ends_a_session_from_the_panel(page: Page) -> None:
    async with running_relay(_cfg()) as relay:
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(relay.base + "/")
        assert "/login" in page.url
        await page.fill("input[name=user]", USERS["admin"])
        await page.fill("input[name=password]", "not it")
        await page.click("button[type=submit]")
        assert "Wrong user name or password" in await page.text_content("[data-login-error]")
        await page.fill("input[name=password]", PASSWORDS["admin"])
        await page.click("button[type=submit]")
        await page.wait_for_function(
            "() => window.relaySession && window.relaySession.state === 'connected'",
            timeout=20000,
        )
        assert "admin-user" in (await page.text_content("[data-access=on]") or "")
        # The sessions panel lists this page's own session, and ends it.
        row = page.locator("#sessions tr[data-session]")
        await row.first.wait_for(timeout=10000)
        assert "admin-user (admin)" in (await row.first.text_content() or "")
        await row.first.locator("button").click()
        await page.wait_for_function("() => window.relaySession.state === 'ended'", timeout=10000)
        assert "ended this session" in (await page.text_content("#message") or "")
        assert relay.peers.count() == 0
        # Logging out goes back to the login page.
        await page.click(".logout button")
        assert "/login" in page.url
        assert not errors, errors


async def test_a_viewers_page_has_no_controls_and_no_sessions(page: Page) -> None:
    async with running_relay(_cfg()) as relay:
        await page.goto(relay.base + f"/?token={TOKENS['viewer']}")
        await page.wait_for_function(
            "() => window.relaySession && window.relaySession.state === 'connected'",
            timeout=20000,
        )
        assert await page.is_hidden("#controls") and await page.is_hidden("#processors")
        assert await page.is_hidden("#sessions")
        note = await page.text_content("[data-read-only]")
        assert note and "operator role" in note
