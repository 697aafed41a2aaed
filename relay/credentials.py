"""``esp32-relay hash-password`` and ``esp32-relay new-token``: what goes into ``[auth]``."""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys
from collections.abc import Sequence

from cryptography.fernet import Fernet

from .access.passwords import Passwords

TOKEN_BYTES = 32  # 256 bits, printed as 43 URL-safe characters


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def _read_password(confirm: bool) -> str | None:
    """From the terminal (asked twice), or the first line of standard input (scripts)."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if confirm and getpass.getpass("Again: ") != first:
        print("esp32-relay: the two passwords differ", file=sys.stderr)
        return None
    return first


def secrets_command(command: str, argv: Sequence[str]) -> int:
    if command == "new-token":
        p = argparse.ArgumentParser(
            prog="esp32-relay new-token",
            description="Print a new random token for [[auth.tokens]] (or, with --cookie-key,"
            " a key for auth.cookie_key).",
        )
        p.add_argument("--cookie-key", action="store_true", help="print a cookie key instead")
        args = p.parse_args(list(argv))
        print(Fernet.generate_key().decode() if args.cookie_key else new_token())
        return 0
    p = argparse.ArgumentParser(
        prog="esp32-relay hash-password",
        description="Read a password (from the terminal, or one line of standard input) and"
        " print its password_hash for [[auth.users]].",
    )
    p.parse_args(list(argv))
    password = _read_password(confirm=True)
    if password is None:
        return 1
    if len(password) < 8:
        print("esp32-relay: use a password of at least 8 characters", file=sys.stderr)
        return 1
    print(Passwords().hash(password))
    return 0
