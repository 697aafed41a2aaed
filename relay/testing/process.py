"""``esp32-relay`` as its users run it: a separate process reading a configuration file."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from ..access.config import AuthConfig


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def auth_toml(auth: AuthConfig) -> str:
    """``[auth]`` as the configuration file writes it."""
    out = ["[auth]"]
    for u in auth.users:
        out += ["[[auth.users]]", f'name = "{u.name}"', f'password_hash = "{u.password_hash}"']
        out += [f'role = "{u.role.label}"', f"cameras = {json.dumps(list(u.cameras))}"]
    for t in auth.tokens:
        out += ["[[auth.tokens]]", f'name = "{t.name}"', f'token = "{t.token}"']
        out += [f'role = "{t.role.label}"', f"cameras = {json.dumps(list(t.cameras))}"]
    return "\n".join(out) + "\n"


async def stop_subprocess(proc: asyncio.subprocess.Process, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; returns once it has exited."""
    if proc.returncode is None:
        proc.terminate()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await proc.wait()
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


@dataclass
class RelayProcess:
    base: str
    config: Path
    process: asyncio.subprocess.Process
    output: list[str]


@contextlib.asynccontextmanager
async def relay_process(config: Path, scheme: str = "http") -> AsyncIterator[RelayProcess]:
    """Run ``python -m relay --config CONFIG`` (the file sets host and port) until it
    prints its URL; stop it with SIGTERM."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "relay",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    output: list[str] = []
    base = ""
    reader: asyncio.Task[None] | None = None
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 20
        while not base:
            async with asyncio.timeout(max(0.1, deadline - time.monotonic())):
                line = (await proc.stdout.readline()).decode(errors="replace")
            if not line:
                raise RuntimeError("the relay exited: " + "".join(output[-10:]))
            output.append(line)
            marker = f"esp32-relay: open {scheme}://"
            if marker in line:
                base = line.split("open ", 1)[1].strip().rstrip("/")

        async def pump() -> None:
            assert proc.stdout is not None
            while line := await proc.stdout.readline():
                output.append(line.decode(errors="replace"))

        reader = asyncio.ensure_future(pump())
        yield RelayProcess(base, config, proc, output)
    finally:
        await stop_subprocess(proc)
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
