"""What every benchmark starts and waits for: simulated boards in their own processes,
free ports, the relay's JSON."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RAW = BENCH / "raw"
BIN = Path(sys.executable).parent
SYSTEM_PYTHON = "/usr/bin/python3"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(url: str, timeout: float = 5) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)


def wait_port(port: int, timeout: float = 30, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listening on port {port} after {timeout} s")


@dataclass
class Simulator:
    framesize: str = "SVGA"
    fps: float = 25.0
    control_port: int = field(default_factory=free_port)
    stream_port: int = field(default_factory=free_port)
    extra: tuple[str, ...] = ()  # more `esp32-relay simulate` flags (faults)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def stream_url(self) -> str:
        return f"http://127.0.0.1:{self.stream_port}/stream"

    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.control_port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(BIN / "esp32-relay"), "simulate", "--host", "127.0.0.1",
             "--port", str(self.control_port), "--stream-port", str(self.stream_port),
             "--fps", str(self.fps), "--framesize", self.framesize, *self.extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_port(self.stream_port, proc=self.proc)

    def stop(self) -> None:
        stop_process(self.proc)


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


async def load_viewers(endpoint_url: str, count: int, duration: float, warmup: float) -> list[Any]:
    """Start load viewers in processes of at most 25 peers each; returns the processes."""
    procs = []
    remaining = count
    while remaining > 0:
        n = min(25, remaining)
        remaining -= n
        procs.append(
            await asyncio.create_subprocess_exec(
                str(BIN / "python"),
                str(BENCH / "load_viewers.py"),
                "--endpoint",
                endpoint_url,
                "--count",
                str(n),
                "--duration",
                str(duration),
                "--warmup",
                str(warmup),
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
        )
    return procs


async def finish_viewers(loads: list[Any]) -> None:
    """Let load viewers end their sessions (DELETE) and exit; kill the ones that hang."""
    for lp in loads:
        try:
            await asyncio.wait_for(lp.wait(), 15)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                lp.kill()
            await lp.wait()
