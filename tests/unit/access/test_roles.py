import pytest

from relay.access.config import AuthConfig, TokenConfig, UserConfig
from relay.access.directory import Directory
from relay.access.roles import Identity, Role
from relay.config import ConfigError, from_mapping


def test_roles_include_the_ones_below() -> None:
    op = Identity("op", Role.OPERATOR, frozenset({"garage"}))
    assert op.may(Role.VIEWER, "garage") and op.may(Role.OPERATOR, "garage")
    assert not op.may(Role.ADMIN) and not op.may(Role.VIEWER, "hall")
    assert Identity("all", Role.VIEWER).may_use("anything")
    with pytest.raises(ValueError, match="viewer, operator or admin"):
        Role.parse("root")


def test_tokens_are_found_by_value_and_keys_change_with_the_credential() -> None:
    a = TokenConfig("kiosk", "a" * 20, Role.VIEWER)
    d = Directory(AuthConfig(tokens=(a,)))
    found = d.by_token("a" * 20)
    assert found is not None and found.name == "kiosk" and found.kind == "token"
    assert d.by_token("b" * 20) is None
    changed = Directory(AuthConfig(tokens=(TokenConfig("kiosk", "b" * 20, Role.VIEWER),)))
    assert found.key not in changed.credential_keys()
    regranted = Directory(AuthConfig(tokens=(TokenConfig("kiosk", "a" * 20, Role.ADMIN),)))
    assert found.key not in regranted.credential_keys()


def test_a_users_login_ends_when_its_password_changes() -> None:
    u = UserConfig("alice", "$argon2id$v=19$m=8,t=1,p=1$one", Role.OPERATOR)
    key = Directory(AuthConfig(users=(u,))).user_by_key("alice", "")
    assert key is None
    d = Directory(AuthConfig(users=(u,)))
    from relay.access.directory import user_identity

    k = user_identity(u).key
    assert d.user_by_key("alice", k) is not None
    d2 = Directory(AuthConfig(users=(UserConfig("alice", "$argon2id$other", Role.OPERATOR),)))
    assert d2.user_by_key("alice", k) is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([{"name": "k", "token": "short"}], r"tokens\[0\]\.token: must be at least 16"),
        (
            [{"name": "k", "token": "x" * 20, "role": "root"}],
            r"role: must be viewer, operator or admin, got 'root'",
        ),
        (
            [{"name": "k", "token": "x" * 20, "colour": 1}],
            r"tokens\[0\]\.colour: unknown setting \(allowed: cameras, name, role, token\)",
        ),
        ([{"name": "k", "token": "x" * 20}, {"name": "k", "token": "y" * 20}], "'k' is used twice"),
        ([{"name": "k", "token": "x" * 20}, {"name": "j", "token": "x" * 20}], "same value"),
        ([{"name": "k", "token": "x" * 20, "cameras": []}], r"cameras: must list at least 1"),
        ([{"token": "x" * 20}], r"tokens\[0\]\.name: is required"),
        ([{"name": "bad name", "token": "x" * 20}], r"name: must be letters, digits"),
    ],
)
def test_token_errors_name_the_setting(raw: list[dict[str, object]], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        from_mapping({"auth": {"tokens": raw}})
    assert "auth.tokens" in str(err.value)


def test_a_password_must_be_a_hash() -> None:
    with pytest.raises(ConfigError, match=r"auth.users\[0\].password_hash: .*hash-password"):
        from_mapping({"auth": {"users": [{"name": "alice", "password_hash": "hunter2"}]}})
