"""ICE settings: which servers, and which local addresses a session may offer.

A machine with Docker bridges or VPN interfaces offers useless candidates that
slow connection set-up; users list the networks (CIDRs) or interface names that
viewers can reach.  aioice has no option for it, so its address enumeration is
wrapped once (:func:`signaling.internals.wrap_host_addresses`), and the filter
travels in a context variable: each session gathers with the filter of the
signaling endpoint that created it, and nothing is shared between relays in one
process.
"""

from __future__ import annotations

import contextlib
import ipaddress
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any, NotRequired

import ifaddr
from aiortc import RTCConfiguration, RTCIceServer, RTCIceTransportPolicy
from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema, with_config
from typing_extensions import TypedDict  # pydantic reads only this one on Python < 3.12

from .internals import HostAddresses, wrap_host_addresses
from .turn import TurnRest

AddressFilter = Callable[[str, str], bool]  # (interface name, address) -> allowed

_filter: ContextVar[AddressFilter | None] = ContextVar("esp32_relay_ice_filter", default=None)


def _filtered_host_addresses(original: HostAddresses, use_ipv4: bool, use_ipv6: bool) -> list[str]:
    allowed = _filter.get()
    if allowed is None:
        return original(use_ipv4, use_ipv6)
    keep = set(original(use_ipv4, use_ipv6))
    out: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            addr = ip.ip if isinstance(ip.ip, str) else ip.ip[0]
            if addr in keep and addr not in out and allowed(adapter.nice_name, addr):
                out.append(addr)
    return out


def _looks_like_network(pattern: str) -> bool:
    # Interface names are letters and digits ("eth0", "wlp2s0", "br-lan"); a pattern made of
    # digits, dots, colons and a slash was meant as an address, however mistyped.
    return all(c in "0123456789abcdefABCDEF.:/" for c in pattern) and any(
        c in pattern for c in ".:/"
    )


def machine_addresses() -> dict[str, list[str]]:
    """Interface name -> its addresses, as aioice enumerates them."""
    out: dict[str, list[str]] = {}
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            addr = ip.ip if isinstance(ip.ip, str) else ip.ip[0]
            out.setdefault(adapter.nice_name, []).append(addr)
    return out


def address_problems(patterns: Sequence[str], interfaces: Mapping[str, list[str]]) -> list[str]:
    """What in ``patterns`` can match nothing on a machine with ``interfaces``.

    A typo here (``eht0``, ``300.1.1.1/24``) would leave every answer without a
    candidate: video that never plays, with nothing saying why.
    """
    problems = []
    names = ", ".join(sorted(interfaces)) or "none"
    for p in patterns:
        if not isinstance(p, str) or not p:
            problems.append(f"{p!r} is neither a network nor an interface name")
            continue
        try:
            net = ipaddress.ip_network(p, strict=False)
        except ValueError:
            if _looks_like_network(p):
                problems.append(f"{p!r} is not a valid network (e.g. 192.168.1.0/24)")
            elif p not in interfaces:
                problems.append(f"no interface named {p!r} (this machine has: {names})")
            continue
        mine = [a for addrs in interfaces.values() for a in addrs if _in_network(a, net)]
        if not mine:
            listed = ", ".join(a for addrs in interfaces.values() for a in addrs) or "none"
            problems.append(f"no address of this machine is in {p} (its addresses: {listed})")
    return problems


def _has_turn(urls: Any) -> bool:
    items = [urls] if isinstance(urls, str) else list(urls or [])
    return any(isinstance(u, str) and u.startswith(("turn:", "turns:")) for u in items)


def _in_network(address: str, net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]) in net
    except ValueError:
        return False


def parse_address_filter(patterns: Sequence[str]) -> AddressFilter | None:
    """Build a filter from CIDRs (``192.168.1.0/24``, ``fd00::/8``) and interface names."""
    if not patterns:
        return None
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    names: set[str] = set()
    for p in patterns:
        try:
            networks.append(ipaddress.ip_network(p, strict=False))
        except ValueError:
            names.add(p)

    def allowed(interface: str, address: str) -> bool:
        return interface in names or any(_in_network(address, net) for net in networks)

    return allowed


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


# One URL or a list of them, as RTCIceServer takes.
URLS_SCHEMA = WithJsonSchema(
    {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]}
)


@with_config(ConfigDict(extra="forbid"))
class IceServer(TypedDict):
    """One STUN or TURN server, as RTCIceServer takes it: ``{urls = "stun:host:3478"}``."""

    urls: Annotated[list[str], BeforeValidator(_as_list), Field(min_length=1), URLS_SCHEMA]
    username: NotRequired[str]
    credential: NotRequired[str]


@dataclass(frozen=True)
class IcePolicy:
    __pydantic_config__ = ConfigDict(extra="forbid")

    servers: tuple[IceServer, ...] = ()
    # Networks (CIDRs) or interface names whose addresses ICE may offer; empty: all.
    addresses: tuple[str, ...] = ()
    # Only relayed (TURN) candidates, for the relay's own peer connections and its pages.
    relay_only: bool = False
    # Time-limited TURN credentials made per session from a secret shared with the server.
    turn_rest: TurnRest | None = None

    def servers_for(self, name: str, now: float | None = None) -> list[dict[str, Any]]:
        """The ICE servers one session uses (the relay's side and the page's alike):
        the static ones, and fresh TURN REST credentials named after ``name``."""
        out = [dict(s) for s in self.servers]
        if self.turn_rest is not None:
            out.append(self.turn_rest.credentials(name, time.time() if now is None else now))
        return out

    def check(self, interfaces: Mapping[str, list[str]] | None = None) -> list[str]:
        """Problems with ``addresses`` on this machine (or on ``interfaces``); empty: fine."""
        if not self.addresses:
            return []
        return address_problems(
            self.addresses, machine_addresses() if interfaces is None else interfaces
        )

    def can_offer_an_address(self) -> bool:
        """Whether this machine has an address ICE may offer under this policy (not
        loopback, nor IPv6 link-local, which aioice leaves out too)."""
        allowed = parse_address_filter(self.addresses)
        for name, addrs in machine_addresses().items():
            for addr in addrs:
                try:
                    ip = ipaddress.ip_address(addr.split("%")[0])
                except ValueError:
                    continue
                if ip.is_loopback or (ip.version == 6 and ip.is_link_local):
                    continue
                if allowed is None or allowed(name, addr):
                    return True
        return False

    def configuration(self, servers: Sequence[Mapping[str, Any]] | None = None) -> RTCConfiguration:
        """Never aiortc's default, which reaches out to a public STUN server.

        ``servers``: this session's (:meth:`servers_for`); default: the static ones.
        """
        chosen = self.servers if servers is None else servers
        ice_servers = [
            RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
            for s in chosen
        ]
        policy = RTCIceTransportPolicy.RELAY if self.relay_only else RTCIceTransportPolicy.ALL
        return RTCConfiguration(iceServers=ice_servers, iceTransportPolicy=policy)

    def problems(self) -> list[str]:
        """Settings that cannot work together, whatever the machine."""
        if self.relay_only and not (
            self.turn_rest or any(_has_turn(s.get("urls")) for s in self.servers)
        ):
            return [
                "relay_only needs a TURN server (ice.servers with turn: URLs, or ice.turn_rest)"
            ]
        return []

    @contextlib.contextmanager
    def gathering(self) -> Iterator[None]:
        """Wrap the code that gathers candidates (``setLocalDescription``)."""
        allowed = parse_address_filter(self.addresses)
        if allowed is None:
            yield
            return
        wrap_host_addresses(_filtered_host_addresses)
        token = _filter.set(allowed)
        try:
            yield
        finally:
            _filter.reset(token)
