"""How the relay is deployed: JSON-lines logs and a clean stop on SIGTERM, the systemd
unit in ``deploy/``, and ``python -m aiohttp.web relay.app:create_app``."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from relay.testing.env import skip_or_fail
from relay.testing.process import free_port, relay_process, stop_subprocess
from relay.testing.whep import WhepViewer

pytestmark = pytest.mark.network
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = aiohttp.ClientTimeout(total=20)


async def test_json_logs_one_line_per_event_and_a_clean_stop(tmp_path: Path) -> None:
    config = tmp_path / "relay.toml"
    config.write_text(f'host = "127.0.0.1"\nport = {free_port()}\nlog_format = "json"\n')
    async with relay_process(config) as relay, aiohttp.ClientSession(timeout=TIMEOUT) as http:
        v = WhepViewer(relay.base + "/cameras/default/whep")
        await v.connect(http)
        await v.wait_frames(30, timeout=15)  # over a second of video
        await v.close(http)
        await asyncio.sleep(0.5)
        proc = relay.process
        await stop_subprocess(proc)
        assert proc.returncode == 0, relay.output[-10:]  # SIGTERM: a clean exit
        await asyncio.sleep(0.2)
        lines = [x.strip() for x in relay.output if x.strip()]
    logged = [x for x in lines if not x.startswith("esp32-relay:")]  # the printed URLs
    events = [json.loads(x) for x in logged]  # every log line is one JSON object
    assert events and all({"time", "level", "logger", "message"} <= e.keys() for e in events)
    assert any(e["message"] == "camera default: online" for e in events), events
    # One line per event, no line per frame: a viewer and its seconds of video, a handful.
    assert len(events) < 40, [e["message"] for e in events]


def test_the_systemd_unit_is_valid(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        skip_or_fail("systemd-analyze is not installed (Debian: apt-get install systemd)")
    unit = (ROOT / "deploy" / "esp32-relay.service").read_text()
    assert "NoNewPrivileges=yes" in unit and "ProtectSystem=strict" in unit
    assert "Restart=on-failure" in unit and "User=esp32-relay" in unit
    # verify checks that ExecStart's program exists: this checkout's, in place of /opt's.
    local = tmp_path / "esp32-relay.service"
    here = str(Path(sys.executable).parent / "esp32-relay")
    local.write_text(unit.replace("/opt/esp32-relay/bin/esp32-relay", here))

    done = subprocess.run(
        [analyze, "verify", str(local)], capture_output=True, text=True, timeout=60, check=False
    )
    problems = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if str(local) in line or "esp32-relay.service" in line
    ]
    assert done.returncode == 0 and not problems, done.stdout + done.stderr


async def test_aiohttp_web_runs_the_application_factory() -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "aiohttp.web", "-H", "127.0.0.1", "-P", str(port),
        "relay.app:create_app",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            for _ in range(100):  # bounded: 10 s
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                        assert r.status == 200 and (await r.json())["ok"] is True
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("aiohttp.web did not serve the relay in 10 s")
            async with http.get(f"http://127.0.0.1:{port}/cameras/default/snapshot.jpg") as r:
                assert r.status == 200 and r.content_type == "image/jpeg"
    finally:
        await stop_subprocess(proc)
