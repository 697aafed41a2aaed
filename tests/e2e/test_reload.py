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


def _cameras_toml(port: int, cameras: dict[str, str]) -> str:
    head = f'host = "127.0.0.1"\nport = {port}\n[simulator]\nfps = 10\n'
    return head + "".join(
        f'[[cameras]]\nname = "{name}"\nsimulate = true\n{extra}\n'
        for name, extra in cameras.items()
    )


async def test_cameras_added_removed_and_changed_on_sighup_leave_the_others_alone(
    tmp_path: Path,
) -> None:
    port = free_port()
    config = tmp_path / "relay.toml"
    config.write_text(_cameras_toml(port, {"a": "", "b": ""}))
    async with relay_process(config) as relay, aiohttp.ClientSession(timeout=TIMEOUT) as http:
        api = relay.base + "/api/cameras"

        async def info(name: str) -> tuple[int, dict]:
            async with http.get(f"{api}/{name}") as r:
                return r.status, (await r.json() if r.status == 200 else {})

        viewer = WhepViewer(relay.base + "/cameras/a/whep")
        try:
            await viewer.connect(http, channel=True)
            await viewer.wait_frames(5, timeout=15)
            _, before = await info("a")
            mjpeg = await http.get(relay.base + "/cameras/b/stream.mjpg")
            assert mjpeg.status == 200
            await mjpeg.content.readuntil(b"\r\n\r\n")  # b's first part is flowing

            # b removed, c added: a plays on in the same session, from the same board.
            config.write_text(_cameras_toml(port, {"a": "", "c": ""}))
            relay.process.send_signal(signal.SIGHUP)
            async with asyncio.timeout(10):
                while (await info("c"))[0] != 200:
                    await asyncio.sleep(0.2)
            assert (await info("b"))[0] == 404
            async with asyncio.timeout(10):  # b's MJPEG client got the end of its answer
                while not mjpeg.content.at_eof():
                    await mjpeg.content.read(65536)
            mjpeg.release()
            async with http.get(api) as r:
                assert [c["name"] for c in await r.json()] == ["a", "c"]
            async with asyncio.timeout(10):
                while True:
                    async with http.get(relay.base + "/cameras/c/snapshot.jpg") as r:
                        if r.status == 200:
                            assert (await r.read())[:2] == b"\xff\xd8"
                            break
                    await asyncio.sleep(0.2)
            assert viewer.pc.connectionState == "connected"
            await viewer.wait_frames(5, timeout=10)
            _, after = await info("a")
            assert after["stream_url"] == before["stream_url"]  # a's simulator kept running
            assert after["ingest"]["connections"] == before["ingest"]["connections"]
            assert any("added: c; removed: b; restarted: none" in x for x in relay.output)

            # c changed: restarted; a still untouched.
            _, c_before = await info("c")
            config.write_text(
                _cameras_toml(port, {"a": "", "c": "[cameras.encoder]\nbitrate = 500000"})
            )
            relay.process.send_signal(signal.SIGHUP)
            async with asyncio.timeout(10):
                while True:
                    status, c_now = await info("c")
                    if status == 200 and c_now["stream_url"] != c_before["stream_url"]:
                        break
                    await asyncio.sleep(0.2)
            assert any("restarted: c" in x for x in relay.output)
            _, after = await info("a")
            assert after["ingest"]["connections"] == before["ingest"]["connections"]
            await viewer.wait_frames(5, timeout=10)
        finally:
            await viewer.close(http)
