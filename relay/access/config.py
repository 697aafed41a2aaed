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
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

from ..common.settings import SECTION
from .roles import Role

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_TOKEN_LENGTH = 16


def _name(value: str) -> str:
    if not _NAME_RE.match(value):
        raise ValueError("must be letters, digits and _.@- (at most 64)")
    return value


def _role(value: Any) -> Role:
    if isinstance(value, Role):
        return value
    if isinstance(value, str) and value.upper() in Role.__members__:
        return Role[value.upper()]
    raise ValueError("must be viewer, operator or admin")


def _password_hash(value: str) -> str:
    if not value.startswith("$argon2"):
        raise ValueError("must be an Argon2 hash from `esp32-relay hash-password`")
    return value


def _token(value: str) -> str:
    if len(value) < MIN_TOKEN_LENGTH:
        raise ValueError(
            f"must be at least {MIN_TOKEN_LENGTH} characters (`esp32-relay new-token` prints one)"
        )
    return value


def _cookie_key(value: str) -> str:
    if value:
        try:
            from cryptography.fernet import Fernet

            Fernet(value.encode())
        except Exception:
            raise ValueError("must be a key from `esp32-relay new-token --cookie-key`") from None
    return value


IdentityName = Annotated[str, AfterValidator(_name)]
RoleSetting = Annotated[
    Role,
    BeforeValidator(_role),
    PlainSerializer(lambda role: role.label, return_type=str),
    WithJsonSchema({"enum": ["viewer", "operator", "admin"], "default": "viewer"}),
]
# Camera names, or "*" for every camera.
CameraNames = Annotated[tuple[str, ...], Field(min_length=1)]


@dataclass(frozen=True)
class UserConfig:
    __pydantic_config__ = SECTION

    name: IdentityName
    password_hash: Annotated[str, AfterValidator(_password_hash)]
    role: RoleSetting = Role.VIEWER
    cameras: CameraNames = ("*",)


@dataclass(frozen=True)
class TokenConfig:
    __pydantic_config__ = SECTION

    name: IdentityName
    token: Annotated[str, AfterValidator(_token)]
    role: RoleSetting = Role.VIEWER
    cameras: CameraNames = ("*",)


def _unique_names(entries: tuple[UserConfig, ...] | tuple[TokenConfig, ...]) -> Any:
    seen: set[str] = set()
    for entry in entries:
        if entry.name in seen:
            raise ValueError(f"the name {entry.name!r} is used twice")
        seen.add(entry.name)
    return entries


def _unique_tokens(tokens: tuple[TokenConfig, ...]) -> tuple[TokenConfig, ...]:
    if len({t.token for t in tokens}) != len(tokens):
        raise ValueError("two tokens have the same value")
    return tokens


Policy = Literal["open", "token", "off"]


@dataclass(frozen=True)
class AuthConfig:
    __pydantic_config__ = SECTION

    users: Annotated[tuple[UserConfig, ...], AfterValidator(_unique_names)] = ()
    tokens: Annotated[
        tuple[TokenConfig, ...], AfterValidator(_unique_names), AfterValidator(_unique_tokens)
    ] = ()
    login_idle: Annotated[float, Field(gt=0)] = 3600.0
    login_lifetime: Annotated[float, Field(gt=0)] = 7 * 86400.0
    # The health routes and /metrics: for probes and Prometheus, which carry no cookie.
    health: Policy = "open"
    metrics: Policy = "open"
    # A Fernet key; empty: a new one each start (logins end on restart).
    cookie_key: Annotated[str, AfterValidator(_cookie_key)] = ""

    @property
    def enabled(self) -> bool:
        return bool(self.users or self.tokens)


Count = Annotated[int, Field(ge=1)]
Rate = Annotated[float, Field(gt=0)]


@dataclass(frozen=True)
class LimitsConfig:
    """Abuse limits. A viewer who behaves never meets them: a browser makes one WHEP
    request per (re)connection, a person types a password a few times a minute."""

    __pydantic_config__ = SECTION

    # Per client address: a burst, refilled at a rate (requests per second).
    whep_burst: Count = 60
    whep_rate: Rate = 2.0
    login_burst: Count = 10
    login_rate: Rate = 0.2
    # Wrong passwords for one user from one address before it is locked out, and for how long.
    lockout_failures: Count = 5
    lockout_seconds: Rate = 300.0
    # Peer connections answered but not yet connected, across the relay: past it WHEP is 503.
    max_negotiating: Count = 64
    # WebRTC sessions one identity (a user or a token) may hold at once, with access control
    # on: one leaked or shared token cannot take every viewer slot of a camera.
    sessions_per_identity: Count = 50
    # Data channel messages per viewer: a burst, refilled per second; a viewer that goes on
    # past it after being told has its channel closed. A dragged slider sends about 60 a
    # second; the burst is large because a viewer's messages delayed by its network (an
    # SCTP retransmission stall) arrive all at once, and that viewer behaved.
    channel_burst: Count = 4000
    channel_rate: Rate = 1000.0
    channel_refusals: Count = 1000
