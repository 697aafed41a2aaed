"""The ``[auth]`` and ``[limits]`` sections.

```toml
[auth]
login_idle = 3600          # seconds a login lasts without a request
login_lifetime = 604800    # seconds a login lasts at most
health = "open"            # /healthz, /readyz: open | token | off
metrics = "open"           # /metrics: open | token | off
cookie_key = "..."         # keeps logins across restarts (`esp32-relay new-token --cookie-key`)

[[auth.users]]
name = "alice"
password_hash = "$argon2id$..."
role = "operator"
cameras = ["*"]

[[auth.tokens]]
name = "hall-kiosk"
token = "..."
role = "viewer"
cameras = ["garage"]
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .roles import Role

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_TOKEN_LENGTH = 16
ROUTE_POLICIES = ("open", "token", "off")


@dataclass(frozen=True)
class UserConfig:
    name: str
    password_hash: str
    role: Role = Role.VIEWER
    cameras: tuple[str, ...] = ("*",)


@dataclass(frozen=True)
class TokenConfig:
    name: str
    token: str
    role: Role = Role.VIEWER
    cameras: tuple[str, ...] = ("*",)


@dataclass(frozen=True)
class AuthConfig:
    users: tuple[UserConfig, ...] = ()
    tokens: tuple[TokenConfig, ...] = ()
    login_idle: float = 3600.0
    login_lifetime: float = 7 * 86400.0
    # The health routes and /metrics: for probes and Prometheus, which carry no cookie.
    health: str = "open"
    metrics: str = "open"
    cookie_key: str = ""  # a Fernet key; empty: a new one each start (logins end on restart)

    @property
    def enabled(self) -> bool:
        return bool(self.users or self.tokens)


@dataclass(frozen=True)
class LimitsConfig:
    """Abuse limits. A viewer who behaves never meets them: a browser makes one WHEP
    request per (re)connection, a person types a password a few times a minute."""

    # Per client address: a burst, refilled at a rate (requests per second).
    whep_burst: int = 60
    whep_rate: float = 2.0
    login_burst: int = 10
    login_rate: float = 0.2
    # Wrong passwords for one user from one address before it is locked out, and for how long.
    lockout_failures: int = 5
    lockout_seconds: float = 300.0
    # Peer connections answered but not yet connected, across the relay: past it WHEP is 503.
    max_negotiating: int = 64
    # WebRTC sessions one identity (a user or a token) may hold at once, with access control
    # on: one leaked or shared token cannot take every viewer slot of a camera.
    sessions_per_identity: int = 50
    # Data channel messages per viewer: a burst, refilled per second; a viewer that goes on
    # past it after being told has its channel closed. A dragged slider sends about 60 a
    # second; the burst is large because a viewer's messages delayed by its network (an
    # SCTP retransmission stall) arrive all at once, and that viewer behaved.
    channel_burst: int = 4000
    channel_rate: float = 1000.0
    channel_refusals: int = 1000


def _camera_list(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(c, str) for c in value):
        raise ValueError(f'{where}: cameras must be a list of camera names or ["*"]')
    return tuple(value)


def _entry(item: Any, where: str, secret_key: str) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise ValueError(f"{where} must be a table")
    allowed = {"name", secret_key, "role", "cameras"}
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown setting {unknown[0]!r}")
    name = item.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"{where}: name must be letters, digits and _.@- (got {name!r})")
    secret = item.get(secret_key)
    if not isinstance(secret, str) or not secret:
        raise ValueError(f"{where}: {secret_key} is required")
    role_text = item.get("role", "viewer")
    try:
        role = Role.parse(role_text if isinstance(role_text, str) else repr(role_text))
    except ValueError as exc:
        raise ValueError(f"{where}: role {exc}") from None
    cameras = _camera_list(item.get("cameras", ["*"]), where)
    return {"name": name, secret_key: secret, "role": role, "cameras": cameras}


def users_from(raw: Any, where: str) -> tuple[UserConfig, ...]:
    if not isinstance(raw, list):
        raise ValueError(f"{where} must be a list of tables ([[auth.users]])")
    users = []
    for i, item in enumerate(raw):
        here = f"{where}[{i}]"
        entry = _entry(item, here, "password_hash")
        if not entry["password_hash"].startswith("$argon2"):
            raise ValueError(
                f"{here}: password_hash must be an Argon2 hash from `esp32-relay hash-password`"
            )
        users.append(UserConfig(**entry))
    _unique([u.name for u in users], where)
    return tuple(users)


def tokens_from(raw: Any, where: str) -> tuple[TokenConfig, ...]:
    if not isinstance(raw, list):
        raise ValueError(f"{where} must be a list of tables ([[auth.tokens]])")
    tokens = []
    for i, item in enumerate(raw):
        here = f"{where}[{i}]"
        entry = _entry(item, here, "token")
        if len(entry["token"]) < MIN_TOKEN_LENGTH:
            raise ValueError(
                f"{here}: token must be at least {MIN_TOKEN_LENGTH} characters"
                " (`esp32-relay new-token` prints one)"
            )
        tokens.append(TokenConfig(**entry))
    _unique([t.name for t in tokens], where)
    if len({t.token for t in tokens}) != len(tokens):
        raise ValueError(f"{where}: two tokens have the same value")
    return tuple(tokens)


def _unique(names: list[str], where: str) -> None:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise ValueError(f"{where}: the name {n!r} is used twice")
        seen.add(n)


def check(cfg: AuthConfig, where: str = "auth") -> None:
    for key in ("health", "metrics"):
        if getattr(cfg, key) not in ROUTE_POLICIES:
            raise ValueError(f"{where}.{key} must be open, token or off, not {getattr(cfg, key)!r}")
    if cfg.login_idle <= 0 or cfg.login_lifetime <= 0:
        raise ValueError(f"{where}: login_idle and login_lifetime must be > 0")
    if cfg.cookie_key:
        try:
            from cryptography.fernet import Fernet

            Fernet(cfg.cookie_key.encode())
        except Exception:
            raise ValueError(
                f"{where}.cookie_key must be a key from `esp32-relay new-token --cookie-key`"
            ) from None


def check_limits(cfg: LimitsConfig, where: str = "limits") -> None:
    for name in (
        "whep_burst",
        "login_burst",
        "lockout_failures",
        "max_negotiating",
        "sessions_per_identity",
        "channel_burst",
        "channel_refusals",
    ):
        if getattr(cfg, name) < 1:
            raise ValueError(f"{where}.{name} must be >= 1, got {getattr(cfg, name)}")
    for name in ("whep_rate", "login_rate", "channel_rate", "lockout_seconds"):
        if getattr(cfg, name) <= 0:
            raise ValueError(f"{where}.{name} must be > 0, got {getattr(cfg, name)}")
