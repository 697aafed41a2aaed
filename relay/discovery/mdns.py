"""Boards that announce themselves over mDNS (``MDNS.begin`` in the sketch, ESPHome):
every ``_http._tcp`` service seen within a few seconds, kept if its ``/status`` answers
like the stock firmware (many devices announce HTTP)."""

from __future__ import annotations

import asyncio

from zeroconf import ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from .boards import Board
from .probe import TIMEOUT, probe_all

SERVICE = "_http._tcp.local."


async def browse(seconds: float = 3.0, interfaces: list[str] | None = None) -> list[Board]:
    names: list[str] = []

    def on_change(
        zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if state_change is ServiceStateChange.Added and name not in names:
            names.append(name)

    azc = AsyncZeroconf(interfaces=interfaces) if interfaces else AsyncZeroconf()
    try:
        browser = AsyncServiceBrowser(azc.zeroconf, [SERVICE], handlers=[on_change])
        await asyncio.sleep(seconds)
        await browser.async_cancel()
        announced: list[tuple[str, str, int]] = []
        for name in names:
            info = AsyncServiceInfo(SERVICE, name)
            if await info.async_request(azc.zeroconf, int(TIMEOUT * 1000)) and info.port:
                label = (info.server or name).removesuffix(".").removesuffix(".local")
                for address in info.parsed_addresses():
                    announced.append((address, label, info.port))
    finally:
        await azc.async_close()
    boards: list[Board] = []
    for address, label, port in announced:
        for board in await probe_all([address], port):
            boards.append(Board(address, port, name=label, framesize=board.framesize, via="mdns"))
    return boards
