"""``esp32-relay discover [--scan CIDR]``: boards on the LAN, as ``[[cameras]]`` blocks."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from .boards import Board, camera_block, camera_name, hosts
from .mdns import browse
from .probe import PARALLEL, TIMEOUT, probe_all


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="esp32-relay discover",
        description="Find ESP32-CAM boards that announce themselves over mDNS or, with"
        " --scan, that answer the stock firmware's /status; print a [[cameras]] block for each.",
    )
    p.add_argument(
        "--scan",
        metavar="CIDR",
        action="append",
        help="also ask every address"
        " of this range (e.g. 192.168.1.0/24; at most a /20); may be repeated",
    )
    p.add_argument(
        "--mdns-seconds", type=float, default=3.0, help="how long to listen (0: no mDNS)"
    )
    p.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per address")
    p.add_argument("--parallel", type=int, default=PARALLEL, help="addresses asked at once")
    return p  # fmt: skip


async def discover(args: argparse.Namespace) -> list[Board]:
    boards: dict[str, Board] = {}
    if args.mdns_seconds > 0:
        for board in await browse(args.mdns_seconds):
            boards.setdefault(board.address, board)
    for cidr in args.scan or ():
        addresses = [a for a in hosts(cidr) if a not in boards]
        for board in await probe_all(addresses, timeout=args.timeout, parallel=args.parallel):
            boards.setdefault(board.address, board)
    return list(boards.values())


def discover_command(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    if args.parallel < 1 or args.timeout <= 0:
        print("esp32-relay discover: --parallel must be >= 1 and --timeout > 0", file=sys.stderr)
        return 2
    try:
        for cidr in args.scan or ():
            next(hosts(cidr), None)  # a bad range is refused before anything is sent
        boards = asyncio.run(discover(args))
    except ValueError as exc:
        print(f"esp32-relay discover: {exc}", file=sys.stderr)
        return 2
    if not boards:
        where = ", ".join(args.scan or []) or "mDNS"
        print(f"# no board found ({where}); is it on this network and powered?", file=sys.stderr)
        return 1
    used: set[str] = set()
    blocks = []
    for board in boards:
        name = camera_name(board)
        n = 2
        while name in used:
            name, n = f"{camera_name(board)}-{n}", n + 1
        used.add(name)
        blocks.append(camera_block(board, name))
    print("\n".join(blocks), end="")
    return 0
