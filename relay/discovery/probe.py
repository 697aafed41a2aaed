"""Asking addresses whether they are boards: ``GET /status``, parallel, bounded."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable

import aiohttp

from .boards import Board, looks_like_board

PARALLEL = 64  # connections at once: a LAN scan, not a flood
TIMEOUT = 1.5  # seconds per address: a board on the LAN answers in tens of ms


async def probe(
    http: aiohttp.ClientSession, address: str, port: int = 80, timeout: float = TIMEOUT
) -> Board | None:
    """The board at ``address``, or None when nothing there answers like one."""
    host = f"[{address}]" if ":" in address else address
    with contextlib.suppress(aiohttp.ClientError, TimeoutError, OSError, ValueError):
        async with asyncio.timeout(timeout):
            async with http.get(f"http://{host}:{port}/status") as resp:
                if resp.status != 200:
                    return None
                if (resp.content_length or 0) > 64 * 1024:
                    return None
                status = json.loads(await resp.read())
                if looks_like_board(status):
                    framesize = status.get("framesize")
                    return Board(
                        address,
                        port,
                        framesize=framesize if isinstance(framesize, int) else None,
                    )
    return None


async def probe_all(
    addresses: Iterable[str],
    port: int = 80,
    timeout: float = TIMEOUT,
    parallel: int = PARALLEL,
) -> list[Board]:
    """Every board among ``addresses``, in address order; at most ``parallel`` at once."""
    gate = asyncio.Semaphore(parallel)
    connector = aiohttp.TCPConnector(limit=parallel, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one(address: str) -> Board | None:
            async with gate:
                return await probe(http, address, port, timeout)

        found = await asyncio.gather(*(one(a) for a in addresses))
    return [b for b in found if b is not None]
