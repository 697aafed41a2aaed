"""What a board's ``/status`` says, and the ``[[cameras]]`` block that reads it. Pure.

The stock CameraWebServer answers ``GET /status`` on port 80 with one JSON object of its
sensor settings (ESP32_PROTOCOL.md); ``framesize``, ``quality`` and ``xclk`` together are
what no other device on a LAN answers with. Its stream is on port 81.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

BOARD_KEYS = frozenset({"framesize", "quality", "xclk"})
STREAM_PORT = 81
MAX_HOSTS = 4096  # a /20: a scan is for a LAN, not for the internet


@dataclass(frozen=True)
class Board:
    """One board that answered like the stock firmware."""

    address: str
    control_port: int = 80
    name: str | None = None  # its mDNS name, when it announced one
    framesize: int | None = None
    via: str = "scan"  # or "mdns"

    @property
    def control_url(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        port = "" if self.control_port == 80 else f":{self.control_port}"
        return f"http://{host}{port}"

    @property
    def stream_url(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"http://{host}:{STREAM_PORT}/stream"


def looks_like_board(status: Any) -> bool:
    return isinstance(status, Mapping) and set(status) >= BOARD_KEYS


def camera_name(board: Board) -> str:
    """A camera name from the board's mDNS name, else from its address."""
    base = board.name or f"board-{board.address}"
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", base.removesuffix(".local.").removesuffix(".local"))
    return name.strip("-.")[:64] or "board"


def camera_block(board: Board, name: str | None = None) -> str:
    """A ready ``[[cameras]]`` table for the relay's configuration file."""
    lines = [
        "[[cameras]]",
        f'name = "{name or camera_name(board)}"',
        f'url = "{board.stream_url}"',
    ]
    if board.control_port != 80:
        lines.append(f'control_url = "{board.control_url}"')
    found = f"# found by {board.via} at {board.address}"
    if board.framesize is not None:
        found += f", framesize {board.framesize}"
    return "\n".join([found, *lines]) + "\n"


def hosts(cidr: str) -> Iterator[str]:
    """The host addresses of ``cidr`` (a single address is one host); ValueError with the
    reason for a range that is not one or is too large to scan."""
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise ValueError(f"{cidr!r} is not a network (e.g. 192.168.1.0/24)") from None
    count = net.num_addresses - (2 if net.version == 4 and net.prefixlen < 31 else 0)
    if count > MAX_HOSTS:
        raise ValueError(
            f"{cidr} has {count} addresses; scan at most {MAX_HOSTS} (a /20) at a time"
        )
    if net.num_addresses == 1:
        yield str(net.network_address)
        return
    for addr in net.hosts():
        yield str(addr)
