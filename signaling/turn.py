"""TURN REST credentials (draft-uberti-behave-turn-rest, coturn's ``use-auth-secret``).

The user name is ``EXPIRY:NAME`` and the password the base64 HMAC-SHA1 of the user
name under the secret the TURN server shares: any TURN server configured with that
secret accepts it until EXPIRY, and nothing has to be stored per user.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, WithJsonSchema


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _turn_urls(urls: tuple[str, ...]) -> tuple[str, ...]:
    for url in urls:
        if not url.startswith(("turn:", "turns:")):
            raise ValueError(f"must be turn: or turns: URLs, not {url!r}")
    return urls


@dataclass(frozen=True)
class TurnRest:
    __pydantic_config__ = ConfigDict(extra="forbid")

    urls: Annotated[
        tuple[str, ...],
        BeforeValidator(_as_list),
        Field(min_length=1),
        AfterValidator(_turn_urls),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "string", "pattern": "^turns?:"},
                    {"type": "array", "items": {"type": "string", "pattern": "^turns?:"}},
                ]
            }
        ),
    ]
    secret: Annotated[str, Field(min_length=1)]  # the TURN server's static-auth-secret
    ttl: Annotated[int, Field(ge=60, le=7 * 86400)] = 86400  # seconds

    def credentials(self, name: str, now: float) -> dict[str, object]:
        """An RTCIceServer dictionary valid for ``ttl`` seconds from ``now``."""
        username = f"{int(now) + self.ttl}:{name}"
        digest = hmac.new(self.secret.encode(), username.encode(), hashlib.sha1).digest()
        return {
            "urls": list(self.urls),
            "username": username,
            "credential": base64.b64encode(digest).decode(),
        }
