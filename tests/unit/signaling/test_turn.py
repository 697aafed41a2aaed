import base64
import hashlib
import hmac

from signaling.ice import IcePolicy
from signaling.turn import TurnRest


def test_turn_rest_credentials_are_coturns_use_auth_secret_format() -> None:
    rest = TurnRest(("turn:10.0.0.1:3478",), "s3cret", ttl=600)
    cred = rest.credentials("alice", now=1_000_000.0)
    assert cred["username"] == "1000600:alice"
    expected = base64.b64encode(hmac.new(b"s3cret", b"1000600:alice", hashlib.sha1).digest())
    assert cred["credential"] == expected.decode()
    assert cred["urls"] == ["turn:10.0.0.1:3478"]


def test_each_session_gets_the_static_servers_and_fresh_credentials() -> None:
    ice = IcePolicy(
        servers=({"urls": "stun:10.0.0.1:3478"},),
        turn_rest=TurnRest(("turn:10.0.0.1:3478",), "s", 60),
    )
    servers = ice.servers_for("kiosk", now=0.0)
    assert servers[0] == {"urls": "stun:10.0.0.1:3478"}
    assert servers[1]["username"] == "60:kiosk"
    cfg = ice.configuration(servers)
    assert cfg.iceServers is not None and len(cfg.iceServers) == 2


def test_relay_only_needs_a_turn_server() -> None:
    assert IcePolicy(relay_only=True).problems()
    assert IcePolicy(relay_only=True, servers=({"urls": "stun:x"},)).problems()
    assert not IcePolicy(relay_only=True, servers=({"urls": ["turn:x:3478"]},)).problems()
    assert (
        IcePolicy(relay_only=True, servers=({"urls": "turn:x"},))
        .configuration()
        .iceTransportPolicy.value
        == "relay"
    )
