"""Password hashes: Argon2id through argon2-cffi, the hash format the configuration holds.

argon2-cffi's defaults (RFC 9106's low-memory profile: 64 MiB, 3 passes) take about
50 ms per check on this project's 2-core test machine: fine for a login, too slow for
every request, which is why a login yields a session cookie and tokens are random
strings compared by digest, not hashed passwords.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Passwords:
    def __init__(self) -> None:
        self._hasher = PasswordHasher()

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    @staticmethod
    def looks_like_hash(text: str) -> bool:
        return text.startswith("$argon2")
