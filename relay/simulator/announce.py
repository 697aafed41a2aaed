"""The simulated board announcing itself over mDNS, as a sketch with ``MDNS.begin(name)``
and ``MDNS.addService("http", "tcp", 80)`` does: what ``esp32-relay discover`` finds."""

from __future__ import annotations

import ipaddress
import socket

import ifaddr
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

SERVICE = "_http._tcp.local."


def _addresses(host: str) -> list[str]:
    """The IPv4 addresses to announce (mDNS A records)."""
    if host not in ("", "0.0.0.0", "::"):
        try:
            return [str(ipaddress.IPv4Address(host))]
        except ValueError:
            return [socket.gethostbyname(host)]
    return [
        ip.ip
        for adapter in ifaddr.get_adapters()
        for ip in adapter.ips
        if isinstance(ip.ip, str) and not ipaddress.ip_address(ip.ip).is_loopback
    ]


class Announcer:
    def __init__(self, name: str, host: str, port: int) -> None:
        self.addresses = _addresses(host)
        self.info = AsyncServiceInfo(
            SERVICE,
            f"{name}.{SERVICE}",
            addresses=[socket.inet_aton(a) for a in self.addresses],
            port=port,
            server=f"{name}.local.",
        )
        self._zc: AsyncZeroconf | None = None

    async def start(self) -> None:
        self._zc = AsyncZeroconf(interfaces=self.addresses)
        await self._zc.async_register_service(self.info)

    async def stop(self) -> None:
        if self._zc is not None:
            zc, self._zc = self._zc, None
            await zc.async_unregister_service(self.info)
            await zc.async_close()
