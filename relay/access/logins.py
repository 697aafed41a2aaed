"""Login sessions: what the session cookie holds, when it has expired, which were ended.

The cookie (encrypted and signed by aiohttp-session's EncryptedCookieStorage) holds the
user, the credential key, a login id and two times: when the login was made and when
it was last used. The relay keeps only the ids of logins ended before their time
(logout, an admin ending it), until they would have expired anyway: bounded, and a
copied cookie of an ended login is refused.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

# Refresh the cookie's last-used time at most this often: not a new cookie per request.
TOUCH_EVERY = 60.0


@dataclass(frozen=True)
class Login:
    user: str
    key: str
    id: str
    issued: float
    seen: float

    @classmethod
    def new(cls, user: str, key: str, now: float) -> Login:
        return cls(user, key, secrets.token_urlsafe(12), now, now)

    @classmethod
    def from_cookie(cls, data: Any) -> Login | None:
        if not isinstance(data, dict):
            return None
        try:
            login = cls(
                str(data["user"]),
                str(data["key"]),
                str(data["id"]),
                float(data["issued"]),
                float(data["seen"]),
            )
        except (KeyError, TypeError, ValueError):
            return None
        return login

    def to_cookie(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "key": self.key,
            "id": self.id,
            "issued": self.issued,
            "seen": self.seen,
        }

    def expired(self, now: float, idle: float, lifetime: float) -> str | None:
        """Why this login is over, or None while it lasts."""
        if now - self.issued > lifetime:
            return "the login is older than its lifetime"
        if now - self.seen > idle:
            return "the login was idle too long"
        if self.seen > now + TOUCH_EVERY or self.issued > now + TOUCH_EVERY:
            return "the login is dated in the future"
        return None

    def needs_touch(self, now: float) -> bool:
        return now - self.seen >= TOUCH_EVERY


class EndedLogins:
    """Ids of logins ended early, each kept until it would have expired by itself."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._until: dict[str, float] = {}
        self.max_entries = max_entries

    def end(self, login_id: str, until: float, now: float) -> None:
        if len(self._until) >= self.max_entries:
            self._prune(now)
        self._until[login_id] = until

    def ended(self, login_id: str) -> bool:
        return login_id in self._until

    def _prune(self, now: float) -> None:
        for key in [k for k, t in self._until.items() if t <= now]:
            del self._until[key]
        while len(self._until) >= self.max_entries:  # still full: the oldest ends go
            del self._until[next(iter(self._until))]
