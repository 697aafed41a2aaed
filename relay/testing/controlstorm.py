"""Viewers that storm the control channel: ``N`` aiortc WHEP viewers, each sending its
share of set/get requests in bursts, then one JSON line with what came back.

Run as its own process (``python -m relay.testing.controlstorm --endpoint URL``), as
viewers are: in the relay's process, ten viewers' SCTP, decoding and the relay's own work
shared one event loop, which on a two-core machine lagged past aioice's half-second
consent checks (one try each) until peer connections closed: a test of the machine.

The line: ``{"viewers": [{"answered", "missing", "duplicates", "errors", "last",
"final_ok", "channel"}], "seconds"}``: per viewer the requests answered, those never
answered, those answered twice, the error codes of failed ones, the last value each of its
variables was set to, whether each variable's last set was answered with exactly that
value, and its channel's state at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from typing import Any

import aiohttp

from .whep import WhepViewer

# Two variables of its own per viewer (so "the last value asked for" is well defined),
# with their ranges.
VARIABLES = [
    ("brightness", -2, 2), ("contrast", -2, 2), ("saturation", -2, 2), ("ae_level", -2, 2),
    ("quality", 10, 40), ("agc_gain", 0, 30), ("aec_value", 0, 1200), ("gainceiling", 0, 6),
    ("special_effect", 0, 6), ("wb_mode", 0, 4), ("awb", 0, 1), ("awb_gain", 0, 1),
    ("aec", 0, 1), ("aec2", 0, 1), ("agc", 0, 1), ("bpc", 0, 1), ("wpc", 0, 1),
    ("raw_gma", 0, 1), ("lenc", 0, 1), ("dcw", 0, 1),
]  # fmt: skip
ANSWER_WAIT = 120.0  # seconds a viewer waits for its last replies after its last request


async def storm(
    v: WhepViewer, mine: list[tuple[str, int, int]], requests: int, rng: random.Random
) -> dict[str, Any]:
    """Send ``requests`` requests in bursts of ten, about 100 a second; what came back."""
    start = len(v.messages)
    ids: list[Any] = []
    last: dict[str, int] = {}
    last_id: dict[str, Any] = {}
    for i in range(requests):
        if v.channel is None or v.channel.readyState != "open":
            break
        if rng.random() < 0.05:
            ids.append(v.send({"op": "get"}))
        else:
            var, lo, hi = mine[rng.randrange(len(mine))]
            val = rng.randint(lo, hi)
            rid = v.send({"op": "set", "var": var, "val": val})
            ids.append(rid)
            last[var], last_id[var] = val, rid
        if i % 10 == 9:
            await asyncio.sleep(0.1)  # a dragged slider sends about 60 a second
    wanted = set(ids)
    replies: dict[Any, dict[str, Any]] = {}
    duplicates = 0
    pos = start
    deadline = time.monotonic() + ANSWER_WAIT
    while len(replies) < len(wanted) and time.monotonic() < deadline:
        # Only the messages that arrived since the last look.
        new, pos = v.messages[pos:], len(v.messages)
        for m in new:
            if "op" not in m and m.get("id") in wanted:
                duplicates += m["id"] in replies
                replies[m["id"]] = m
        await asyncio.sleep(0.1)
    errors: dict[str, int] = {}
    for m in replies.values():
        if not m.get("ok"):
            errors[m.get("error", "?")] = errors.get(m.get("error", "?"), 0) + 1
    final_ok: dict[str, bool] = {}
    for var, val in last.items():
        final = replies.get(last_id[var])
        final_ok[var] = final is not None and bool(final.get("ok")) and final.get("val") == val
    return {
        "sent": len(ids),
        "answered": len(replies),
        "missing": len(wanted - set(replies)),
        "duplicates": duplicates,
        "errors": errors,
        "last": last,
        "final_ok": final_ok,
        "channel": v.channel.readyState if v.channel else None,
        "peer": v.pc.connectionState,
    }


async def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--viewers", type=int, default=10)
    ap.add_argument("--requests", type=int, default=10_000, help="per viewer")
    ap.add_argument("--limit", default="auto", help="each viewer's quality limit")
    args = ap.parse_args(argv)
    if args.viewers * 2 > len(VARIABLES):
        ap.error(f"at most {len(VARIABLES) // 2} viewers (two variables each)")
    viewers = [WhepViewer(args.endpoint, decode_code=False) for _ in range(args.viewers)]
    async with aiohttp.ClientSession() as http:
        try:
            for v in viewers:
                await v.connect(http, channel=True)
                await v.wait_message(lambda m: m.get("op") == "state", timeout=15)
                reply = await v.request({"op": "quality", "limit": args.limit})
                if not reply.get("ok"):
                    raise RuntimeError(f"quality limit refused: {reply}")
            began = time.monotonic()
            results = await asyncio.gather(
                *(
                    storm(v, VARIABLES[2 * i : 2 * i + 2], args.requests, random.Random(i))
                    for i, v in enumerate(viewers)
                )
            )
            seconds = round(time.monotonic() - began, 1)
        finally:
            await asyncio.gather(*(v.close(http) for v in viewers), return_exceptions=True)
    print(json.dumps({"viewers": results, "seconds": seconds}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
