"""What every configuration section shares: how strictly it is read, and URL checks.

Each part's section is a frozen dataclass that pydantic validates (``relay.config``
composes them); ``SECTION`` is its pydantic configuration: an unknown key is an error
naming it (a typo must not be silently ignored), and no setting may be NaN or infinite.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import ConfigDict

SECTION = ConfigDict(extra="forbid", allow_inf_nan=False)


def http_url(value: str | None) -> str | None:
    """A board's address: http:// with a host (the stock firmware has no TLS)."""
    if value is not None:
        parts = urlsplit(value)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError("must be an http:// URL with a host (the board's address)")
        try:
            parts.port  # noqa: B018  (parsing it is the check)
        except ValueError:
            raise ValueError("has a port that is not a number in 1..65535") from None
    return value
