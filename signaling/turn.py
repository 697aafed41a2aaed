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


@dataclass(frozen=True)
class TurnRest:
    urls: tuple[str, ...]
    secret: str
    ttl: int = 86400

    def credentials(self, name: str, now: float) -> dict[str, object]:
        """An RTCIceServer dictionary valid for ``ttl`` seconds from ``now``."""
        username = f"{int(now) + self.ttl}:{name}"
        digest = hmac.new(self.secret.encode(), username.encode(), hashlib.sha1).digest()
        return {
            "urls": list(self.urls),
            "username": username,
            "credential": base64.b64encode(digest).decode(),
        }
