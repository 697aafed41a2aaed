"""Glass to glass through a TURN server beside direct, in one run (``python -m bench.turn``,
or part of ``make bench``): Debian's coturn on the private namespace's veth, the relay
with ``ice.turn_rest`` and ``relay_only``, and the measuring page with
``iceTransportPolicy: "relay"`` and credentials from the same secret."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from relay.testing.browser import launch_chromium
from relay.testing.process import free_port, relay_process
from relay.testing.turn import coturn_missing_reason, running_coturn
from signaling.turn import TurnRest

from .glass import BROWSER_MODES, measure_glass


def relay_config(port: int, camera: tuple[str, str] | None) -> str:
    """The relay's file: its port, and a camera (stream and control URLs) or its built-in one."""
    text = f'host = "127.0.0.1"\nport = {port}\nlog_level = "WARNING"\n'
    if camera is not None:
        text += f'[[cameras]]\nname = "default"\nurl = "{camera[0]}"\ncontrol_url = "{camera[1]}"\n'
    return text


async def _glass(
    turn: Any | None, warmup: float, duration: float, camera: tuple[str, str] | None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "relay.toml"
        text = relay_config(free_port(), camera)
        ice = None
        if turn is not None:
            text += (
                f'[ice]\nrelay_only = true\n[ice.turn_rest]\nurls = ["{turn.url}"]\n'
                f'secret = "{turn.secret}"\nttl = 600\n'
            )
            rest = TurnRest((turn.url,), turn.secret, 600)
            ice = {
                "iceServers": [rest.credentials("bench", time.time())],
                "iceTransportPolicy": "relay",
            }
        config.write_text(text)
        async with relay_process(config) as relay:
            await asyncio.sleep(1.0)
            whep = relay.base + "/cameras/default/whep"
            # The compositor unthrottled, as for the headline figures (bench/glass.py).
            async with launch_chromium(BROWSER_MODES["unthrottled"]) as browser:
                return await measure_glass(
                    None,
                    "whep",
                    whep,
                    warmup_s=warmup,
                    duration_s=duration,
                    ice=ice,
                    browser=browser,
                )


async def measure(
    rounds: int = 2,
    warmup: float = 3.0,
    duration: float = 10.0,
    camera: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """``camera``: a simulated board's stream and control URLs, read by both relays (the
    benchmark's own simulator process); None: each relay's built-in one."""
    why = coturn_missing_reason()
    if why:
        return {"unavailable": why}
    address = os.environ.get("ESP32_RELAY_NETNS_ADDR")
    if not address:
        return {"unavailable": "not inside tests/netns-run"}
    out: dict[str, Any] = {"direct": [], "turn": []}
    async with running_coturn(address) as turn:
        for _ in range(rounds):
            for kind in ("direct", "turn"):
                g = await _glass(turn if kind == "turn" else None, warmup, duration, camera)
                out[kind].append({k: g.get(k) for k in ("p50", "p95", "fps", "frames")})
        # coturn logs an allocation's bytes when it refreshes or deletes it: wait for that.
        deadline = time.monotonic() + 15
        while not any(turn.relayed_bytes().values()) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        out["relayed_bytes"] = sum(turn.relayed_bytes().values())
    return out


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    print(json.dumps(asyncio.run(measure(1 if quick else 2)), indent=1))
