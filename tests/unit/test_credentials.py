import io
import sys

import pytest
from cryptography.fernet import Fernet

from relay.access.passwords import Passwords
from relay.cli import main
from relay.config import ConfigError, from_mapping


def test_hash_password_prints_a_hash_that_checks(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse\n"))
    assert main(["hash-password"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("$argon2id$")
    assert Passwords().verify(printed, "correct horse")
    assert not Passwords().verify(printed, "wrong horse")


def test_hash_password_refuses_a_short_one(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["hash-password"]) == 1
    assert "at least 8" in capsys.readouterr().err


def test_new_token_and_cookie_key(capsys) -> None:
    assert main(["new-token"]) == 0 and main(["new-token"]) == 0
    a, b = capsys.readouterr().out.split()
    assert a != b and len(a) >= 43
    assert main(["new-token", "--cookie-key"]) == 0
    Fernet(capsys.readouterr().out.strip().encode())  # a valid key


def test_the_printed_values_go_into_the_configuration(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse\n"))
    main(["hash-password"])
    main(["new-token"])
    password_hash, token = capsys.readouterr().out.split()
    cfg = from_mapping(
        {
            "auth": {
                "users": [{"name": "alice", "password_hash": password_hash, "role": "admin"}],
                "tokens": [{"name": "kiosk", "token": token, "cameras": ["default"]}],
            }
        }
    )
    assert cfg.auth.enabled and cfg.auth.tokens[0].cameras == ("default",)


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        (
            {"tokens": [{"name": "k", "token": "x" * 20, "cameras": ["garage"]}]},
            "no camera named 'garage'",
        ),
        ({"health": "sometimes"}, "auth.health: must be 'open', 'token' or 'off', got 'sometimes'"),
        ({"cookie_key": "not-a-key"}, "cookie_key"),
        ({"users": "alice"}, "auth.users: must be a list, got 'alice'"),
    ],
)
def test_auth_errors_name_the_setting(auth: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_mapping({"auth": auth})


def test_remote_reach_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="relay_only needs a TURN server"):
        from_mapping({"ice": {"relay_only": True}})
    with pytest.raises(ConfigError, match="ice.turn_rest.secret: is required"):
        from_mapping({"ice": {"turn_rest": {"urls": ["turn:t:3478"]}}})
    with pytest.raises(ConfigError, match="cert and key go together"):
        from_mapping({"tls": {"cert": "/c.pem"}})
    cfg = from_mapping(
        {"ice": {"relay_only": True, "turn_rest": {"urls": "turn:t:3478", "secret": "s"}}}
    )
    assert cfg.ice.relay_only and cfg.ice.turn_rest is not None and cfg.ice.turn_rest.ttl == 86400
