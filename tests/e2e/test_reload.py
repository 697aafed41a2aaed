"""SIGHUP reloads who may use the relay: a token taken out of the file ends its sessions,
the others keep playing, and a broken file changes nothing."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from relay.testing.access import TOKENS, auth_config
from relay.testing.process import auth_toml, free_port, relay_process
from relay.testing.whep import WhepViewer

pytestmark = pytest.mark.network
TIMEOUT = aiohttp.ClientTimeout(total=20)


async def test_a_token_removed_from_the_file_ends_its_session_on_sighup(tmp_path: Path) -> None:
    auth = auth_config()
    head = f'host = "127.0.0.1"\nport = {free_port()}\n'
    config = tmp_path / "relay.toml"
    config.write_text(head + auth_toml(auth))
    async with relay_process(config) as relay, aiohttp.ClientSession(timeout=TIMEOUT) as http:
        whep = relay.base + "/cameras/default/whep"
        kiosk = WhepViewer(whep, decode_code=False, token=TOKENS["viewer"])
        other = WhepViewer(whep, token=TOKENS["operator"])
        try:
            for v in (kiosk, other):
                await v.connect(http, channel=True)
                await v.wait_message(lambda m: m.get("op") == "state", timeout=15)
            # A broken file: the running configuration stays, nobody is cut off.
            config.write_text(head + "[auth\n")
            relay.process.send_signal(signal.SIGHUP)
            await asyncio.sleep(1.0)
            assert any("keeping the running one" in line for line in relay.output)
            assert kiosk.pc.connectionState == "connected"
            kept = replace(
                auth, tokens=tuple(t for t in auth.tokens if t.token != TOKENS["viewer"])
            )
            config.write_text(head + auth_toml(kept))
            relay.process.send_signal(signal.SIGHUP)
            ended = await kiosk.wait_message(lambda m: m.get("kind") == "session_ended", timeout=10)
            assert "credential" in ended["reason"]
            headers = {"Authorization": f"Bearer {TOKENS['viewer']}"}
            async with http.get(relay.base + "/api/cameras", headers=headers) as r:
                assert r.status == 401
            await other.wait_frames(5, timeout=10)  # the operator's session plays on
        finally:
            for v in (kiosk, other):
                await v.close(http)
