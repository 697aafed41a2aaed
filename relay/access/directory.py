"""The configured identities, looked up by credential.

Tokens are found by their SHA-256 digest: a dictionary lookup on a digest reveals
nothing about the token through its timing, unlike comparing the tokens themselves.
Passwords are checked against their Argon2 hash (:mod:`relay.access.passwords`).
"""

from __future__ import annotations

import hashlib

from .config import AuthConfig, TokenConfig, UserConfig
from .roles import Identity


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _key(kind: str, name: str, secret: str, role: object, cameras: tuple[str, ...]) -> str:
    # The credential and what it grants: a changed role or camera list ends its sessions too.
    grant = f"{secret}\n{role}\n{','.join(sorted(cameras))}"
    return f"{kind}:{name}:{_digest(grant)[:16]}"


def user_identity(user: UserConfig) -> Identity:
    key = _key("user", user.name, user.password_hash, user.role, user.cameras)
    return Identity(user.name, user.role, frozenset(user.cameras), "user", key)


def token_identity(token: TokenConfig) -> Identity:
    key = _key("token", token.name, token.token, token.role, token.cameras)
    return Identity(token.name, token.role, frozenset(token.cameras), "token", key)


class Directory:
    """Users by name, tokens by digest; replaced whole when the configuration is reloaded."""

    def __init__(self, cfg: AuthConfig) -> None:
        self.cfg = cfg
        self._users = {u.name: u for u in cfg.users}
        self._tokens = {_digest(t.token): token_identity(t) for t in cfg.tokens}

    @property
    def enabled(self) -> bool:
        return self.cfg.enabled

    def by_token(self, token: str) -> Identity | None:
        return self._tokens.get(_digest(token))

    def user(self, name: str) -> UserConfig | None:
        return self._users.get(name)

    def user_by_key(self, name: str, key: str) -> Identity | None:
        """The user a login was made for, while that user and its password are unchanged."""
        user = self._users.get(name)
        if user is None:
            return None
        identity = user_identity(user)
        return identity if identity.key == key else None

    def credential_keys(self) -> set[str]:
        """Every credential's key: sessions whose key is not here have lost their credential."""
        return {user_identity(u).key for u in self.cfg.users} | {
            i.key for i in self._tokens.values()
        }
