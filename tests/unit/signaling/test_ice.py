"""ICE policy: address filters, and no public STUN server by default."""

from __future__ import annotations

from signaling.ice import IcePolicy, parse_address_filter


def test_ice_address_filter_by_network_and_interface() -> None:
    allowed = parse_address_filter(["192.168.1.0/24", "wlan0", "fd00::/8"])
    assert allowed is not None
    assert allowed("eth0", "192.168.1.20")
    assert not allowed("docker0", "172.17.0.1")
    assert allowed("wlan0", "10.1.2.3")
    assert allowed("eth0", "fd00::5")
    assert not allowed("eth0", "fe80::1%eth0")
    assert parse_address_filter([]) is None


def test_ice_configuration_never_defaults_to_a_public_stun_server() -> None:
    assert IcePolicy().configuration().iceServers == []
    cfg = IcePolicy(servers=({"urls": "stun:stun.example.org"},)).configuration()
    assert cfg.iceServers is not None and cfg.iceServers[0].urls == "stun:stun.example.org"


def test_address_patterns_that_match_nothing_are_named() -> None:
    from signaling.ice import address_problems

    machine = {"lo": ["127.0.0.1", "::1"], "eth0": ["192.168.1.20", "fe80::1%eth0"]}
    ok = ["eth0", "192.168.1.0/24", "192.168.1.20", "fe80::/10", "lo"]
    assert address_problems(ok, machine) == []
    problems = address_problems(
        ["eht0", "300.1.1.1/24", "10.0.0.0/8", "192.168.1.0/33", ""], machine
    )
    assert problems == [
        "no interface named 'eht0' (this machine has: eth0, lo)",
        "'300.1.1.1/24' is not a valid network (e.g. 192.168.1.0/24)",
        "no address of this machine is in 10.0.0.0/8"
        " (its addresses: 127.0.0.1, ::1, 192.168.1.20, fe80::1%eth0)",
        "'192.168.1.0/33' is not a valid network (e.g. 192.168.1.0/24)",
        "'' is neither a network nor an interface name",
    ]
