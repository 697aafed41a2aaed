from relay.app import access_warnings
from relay.config import RelayConfig
from relay.testing.access import auth_config


def test_an_open_relay_says_so_and_warns_beyond_loopback() -> None:
    local = access_warnings(RelayConfig(host="127.0.0.1"), enabled=False)
    assert len(local) == 1 and "anyone who reaches this relay" in local[0]
    lan = access_warnings(RelayConfig(host="0.0.0.0"), enabled=False)
    assert len(lan) == 2 and "beyond this machine" in lan[1]
    on = access_warnings(RelayConfig(host="0.0.0.0", auth=auth_config()), enabled=True)
    assert on == ["access control is on: 3 user(s), 3 token(s)"]
