"""Debian's coturn, started for a test or benchmark on a port of its own, with a shared
secret (TURN REST credentials), and read back: which allocations it relayed, how much."""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from .process import stop_subprocess

TURNSERVER = "turnserver"
# coturn logs each allocation's traffic: "... usage: realm=<r>, username=<u>, rp=N, rb=N,
# sp=N, sb=N" (received/sent packets and bytes) on refresh and when it is deleted.
USAGE_RE = re.compile(
    r"usage: realm=<[^>]*>, username=<([^>]*)>, rp=(\d+), rb=(\d+), sp=(\d+), sb=(\d+)"
)


def coturn_missing_reason() -> str | None:
    if shutil.which(TURNSERVER) is None:
        return "coturn is not installed (Debian: apt-get install coturn)"
    return None


def free_udp_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


@dataclass
class TurnServer:
    address: str
    port: int
    secret: str
    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"turn:{self.address}:{self.port}?transport=udp"

    def relayed_bytes(self) -> dict[str, int]:
        """Bytes each user name's allocations received and sent, as coturn last logged."""
        out: dict[str, int] = {}
        for line in self.lines:
            m = USAGE_RE.search(line)
            if m:
                out[m.group(1)] = int(m.group(3)) + int(m.group(5))
        return out


@contextlib.asynccontextmanager
async def running_coturn(address: str) -> AsyncIterator[TurnServer]:
    port = free_udp_port(address)
    secret = secrets.token_urlsafe(16)
    relay_min = free_udp_port(address)
    args = [
        "-n",  # no configuration file
        f"--listening-ip={address}",
        f"--listening-port={port}",
        f"--relay-ip={address}",
        f"--min-port={relay_min}",
        f"--max-port={min(65535, relay_min + 200)}",
        "--use-auth-secret",
        f"--static-auth-secret={secret}",
        "--realm=esp32-relay.test",
        "--no-tls",
        "--no-dtls",
        "--no-tcp",
        "--no-cli",
        "--no-rfc5780",
        "--no-stun-backward-compatibility",
        "--log-file=stdout",
        "--simple-log",
        "--verbose",
        # The private namespace's one network is private: let coturn relay to it.
        "--allow-loopback-peers",
        "--cli-password=unused-unused",
    ]
    proc = await asyncio.create_subprocess_exec(
        TURNSERVER,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    server = TurnServer(address, port, secret, proc)

    async def pump() -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            server.lines.append(line.decode(errors="replace").rstrip())

    reader = asyncio.ensure_future(pump())
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while not any("listener opened on" in x or "Total UDP servers" in x for x in server.lines):
            if proc.returncode is not None:
                raise RuntimeError("turnserver exited: " + "\n".join(server.lines[-10:]))
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("turnserver did not start: " + "\n".join(server.lines[-10:]))
            await asyncio.sleep(0.05)
        yield server
    finally:
        await stop_subprocess(proc, grace=5.0)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
