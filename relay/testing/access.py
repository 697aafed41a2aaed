"""Identities for tests and benchmarks: one user and one token per role, with known secrets."""

from __future__ import annotations

from argon2 import PasswordHasher

from ..access.config import AuthConfig, TokenConfig, UserConfig
from ..access.roles import Role

ROLES = ("viewer", "operator", "admin")
TOKENS = {role: f"{role}-token-for-tests-0123456789" for role in ROLES}
PASSWORDS = {role: f"{role}-password" for role in ROLES}
USERS = {role: f"{role}-user" for role in ROLES}
# Real Argon2id, with small costs: the hash carries its parameters, so checking it is quick.
_HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


def auth_config(
    *, cameras: dict[str, tuple[str, ...]] | None = None, **settings: object
) -> AuthConfig:
    """A user and a token per role; ``cameras`` limits a role's identities to some cameras."""
    limits = cameras or {}
    users = tuple(
        UserConfig(USERS[r], _HASHER.hash(PASSWORDS[r]), Role.parse(r), limits.get(r, ("*",)))
        for r in ROLES
    )
    tokens = tuple(
        TokenConfig(f"{r}-token", TOKENS[r], Role.parse(r), limits.get(r, ("*",))) for r in ROLES
    )
    return AuthConfig(users=users, tokens=tokens, **settings)  # type: ignore[arg-type]
