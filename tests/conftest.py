"""Shared fixtures and the ``network`` / ``browser`` markers.

``network`` tests need the private network namespace made by tests/netns-run (WebRTC peers
find no path over loopback alone, and outside the namespace they could reach the LAN).
``browser`` tests need headless Chromium. When a requirement is missing the test is skipped
with the reason, except under CI=true, where it fails: CI must run every test.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import aiohttp
import pytest
from aiortc import RTCConfiguration
from playwright.async_api import Browser, Page
from playwright.async_api import Error as PlaywrightError

from relay.testing.browser import chromium_missing_reason, launch_chromium, launch_error_summary
from relay.testing.env import netns_missing_reason, skip_or_fail
from relay.testing.relay import RunningRelay, running_relay


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("network") is not None:
        reason = netns_missing_reason()
        if reason is not None:
            skip_or_fail(reason)
    if item.get_closest_marker("browser") is not None:
        reason = chromium_missing_reason()
        if reason is not None:
            skip_or_fail(reason)


@pytest.fixture
def netns_addr() -> str:
    """The veth address ICE candidates use inside the namespace."""
    reason = netns_missing_reason()
    if reason is not None:
        skip_or_fail(reason)
    return os.environ["ESP32_RELAY_NETNS_ADDR"]


@pytest.fixture
async def relay() -> AsyncIterator[RunningRelay]:
    """The real relay on a loopback port with its built-in simulated camera."""
    async with running_relay() as r:
        yield r


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def ice_config() -> RTCConfiguration:
    """ICE configuration with no servers: aiortc's default would query a public STUN server."""
    return RTCConfiguration(iceServers=[])


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A fresh headless Chromium per test.

    Function scope on purpose: Playwright's async objects belong to the event loop that created
    them, and pytest-asyncio gives each test its own loop. A launch costs about a second.
    """
    reason = chromium_missing_reason()
    if reason is not None:
        skip_or_fail(reason)
    async with AsyncExitStack() as stack:
        try:
            instance = await stack.enter_async_context(launch_chromium())
        except PlaywrightError as exc:
            skip_or_fail(f"Chromium failed to launch: {launch_error_summary(exc.message)}")
        yield instance


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A page in its own browser context."""
    context = await browser.new_context()
    try:
        yield await context.new_page()
    finally:
        await context.close()
