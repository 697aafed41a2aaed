"""Where the tests run: in CI or not, inside the private network namespace or not.

A test whose requirement is missing skips with the reason, except under ``CI=true``,
where it fails: CI must run every test.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str) -> NoReturn:
    """Skip the test with ``reason``, or fail it when running in CI."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: this test must run)", pytrace=False)
    pytest.skip(reason)


def netns_missing_reason() -> str | None:
    """Why the test is not inside the private network namespace, or None when it is."""
    if os.environ.get("ESP32_RELAY_NETNS") == "1" and os.environ.get("ESP32_RELAY_NETNS_ADDR"):
        return None
    error = os.environ.get("ESP32_RELAY_NETNS_ERROR")
    if error:
        return f"private network namespace unavailable: {error}"
    return "not inside the private network namespace (run pytest through tests/netns-run)"
