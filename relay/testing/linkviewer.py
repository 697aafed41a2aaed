"""An aiortc WHEP viewer that reports, once a second, what it receives (a JSON line each).

Run inside a viewer's own namespace (:mod:`relay.testing.slowlink`):
``python -m relay.testing.linkviewer --endpoint URL --duration 30``. Each line:
``{"t": seconds, "frames": n, "width": w, "height": h, "coded": n}`` for the second
just ended (``coded``: frames whose frame code was readable).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import aiohttp

from .whep import WhepViewer


async def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--duration", type=float, default=30.0)
    args = ap.parse_args(argv)
    viewer = WhepViewer(args.endpoint)
    async with aiohttp.ClientSession() as http:
        await viewer.connect(http)
        start = time.time()
        seen = 0
        try:
            for second in range(1, int(args.duration) + 1):
                await asyncio.sleep(max(start + second - time.time(), 0))
                frames = viewer.frames[seen:]
                seen += len(frames)
                last = frames[-1] if frames else None
                line = {
                    "t": second,
                    "frames": len(frames),
                    "width": last.width if last else 0,
                    "height": last.height if last else 0,
                    "coded": sum(1 for f in frames if f.counter >= 0),
                }
                print(json.dumps(line), flush=True)
        finally:
            await viewer.close(http)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
