"""The relay installed the ordinary ways, away from the source tree, serves its pages.

A wheel is built from a copy of the source tree, installed into a fresh virtual
environment, and ``esp32-relay`` is started from there; ``pip install <folder>`` is
tried the same way. No package index is reached: the wheel is built without isolation
(the test extra brings setuptools and build) and installed without dependencies, which
the new environment finds in this one's site-packages through a ``.pth`` line (a plain
path: the editable install's import hook there is not loaded). The tests are plain
functions: building and installing block, and only the relay check runs a loop.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import site
import socket
import subprocess
import sys
import venv
from pathlib import Path

import aiohttp
import pytest

ROOT = Path(__file__).resolve().parents[2]
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", "*.egg-info", "build", "dist", ".*_cache", "raw", ".work"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fresh_env(where: Path) -> Path:
    """A new virtual environment seeing this one's packages but not the source tree."""
    venv.EnvBuilder(with_pip=False).create(where)
    python = where / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()]
    Path(purelib, "_esp32_relay_test_deps.pth").write_text("\n".join(deps) + "\n")
    return python


def _pip(python: Path, *args: str) -> None:
    # This environment's pip, run for the other one: it has no pip of its own.
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", *args],
        check=True,
        timeout=300,
    )


async def _until_serving(proc: asyncio.subprocess.Process, port: int) -> None:
    """Until the relay prints the URL it serves on; fails when it exits first."""
    assert proc.stdout is not None
    started = b""
    async with asyncio.timeout(30):
        while f"open http://127.0.0.1:{port}".encode() not in started:
            line = await proc.stdout.readline()
            assert line, f"the relay exited before serving: {started!r}"
            started += line


def _installed_wheel(source: Path, dist: Path, env: Path) -> Path:
    """A wheel built from ``source`` (offline), installed into a fresh ``env``; its python."""
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)],
        cwd=source,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("esp32_relay-*.whl")
    python = _fresh_env(env)
    _pip(python, "--no-deps", str(wheel))
    return python


async def _serves_its_pages(env: Path, cwd: Path) -> None:
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        str(env / "bin" / "esp32-relay"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        cwd=cwd,
        env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await _until_serving(proc, port)
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            for path, kind, marker in (
                ("/", "text/html", "viewer-page.js"),
                ("/kiosk", "text/html", "kiosk-page.js"),
                ("/static/whep.js", "javascript", "export"),
                ("/static/framecode.js", "javascript", "readCode"),
            ):
                async with http.get(base + path) as r:
                    assert r.status == 200, (path, r.status)
                    assert kind in r.content_type, (path, r.content_type)
                    assert marker in await r.text(), path
            async with http.get(base + "/api/cameras/default") as r:
                info = await r.json()
                # The module files are the installed ones, not the source tree's.
                assert info["name"] == "default"
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 20)
        assert proc.returncode == 0


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("src") / "esp32-relay"
    shutil.copytree(ROOT, copy, ignore=COPY_IGNORE)
    return copy


def test_a_built_wheel_installs_and_serves_every_page(source: Path, tmp_path: Path) -> None:
    env = tmp_path / "env"
    python = _installed_wheel(source, tmp_path / "dist", env)
    where = subprocess.run(
        [str(python), "-c", "import relay.web, signaling; print(relay.web.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(env) in where and str(ROOT) not in where
    asyncio.run(_serves_its_pages(env, tmp_path))


def test_pip_install_of_the_folder_serves_every_page(source: Path, tmp_path: Path) -> None:
    env = tmp_path / "env"
    python = _fresh_env(env)
    _pip(python, "--no-deps", "--no-build-isolation", str(source))
    asyncio.run(_serves_its_pages(env, tmp_path))


def _dockerfile_copies() -> tuple[list[str], list[str]]:
    """The sources of the Dockerfile's COPY lines: the build stage's, the final stage's."""
    stages: list[list[str]] = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        words = line.split()
        if words[:1] == ["FROM"]:
            stages.append([])
        elif words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            stages[-1].extend(words[1:-1])
    build, final = stages
    return build, final


async def _container_start_serves(env: Path, extra_env: dict[str, str], port: int) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "ESP32"))}
    environ["PATH"] = f"{env / 'bin'}:{environ['PATH']}"
    proc = await asyncio.create_subprocess_exec(
        str(ROOT / "deploy" / "container-start"),
        env={**environ, **extra_env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await _until_serving(proc, port)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                assert r.status == 200
            async with http.get(f"http://127.0.0.1:{port}/api/cameras") as r:
                assert [c["name"] for c in await r.json()] == ["yard"]
    finally:
        proc.terminate()  # the relay itself: container-start execs it (PID 1 in a container)
        await asyncio.wait_for(proc.wait(), 20)
        assert proc.returncode == 0


def test_the_container_image_builds_from_what_its_dockerfile_copies(tmp_path: Path) -> None:
    """No container engine runs here: the image's two stages are replayed outside one. The
    wheel is built from only the files the build stage copies, and the entry point the
    final stage installs starts the relay from a mounted file or from the environment."""
    build, final = _dockerfile_copies()
    for path in (*build, *final):
        assert (ROOT / path).exists(), f"the Dockerfile copies {path}, which is not there"
    context = tmp_path / "context"
    for path in build:
        src = ROOT / path
        if src.is_dir():
            shutil.copytree(src, context / path, ignore=COPY_IGNORE)
        else:
            context.mkdir(exist_ok=True)
            shutil.copy2(src, context / path)
    env = tmp_path / "env"
    _installed_wheel(context, tmp_path / "wheels", env)
    port = _free_port()
    mounted = tmp_path / "relay.toml"
    mounted.write_text(
        f'host = "127.0.0.1"\nport = {port}\n[[cameras]]\nname = "yard"\nsimulate = true\n'
    )
    asyncio.run(_container_start_serves(env, {"ESP32_RELAY_CONFIG": str(mounted)}, port))
    port = _free_port()
    asyncio.run(
        _container_start_serves(
            env,
            {
                "ESP32_RELAY_CONFIG": str(tmp_path / "not-mounted.toml"),
                "ESP32_RELAY_HOST": "127.0.0.1",
                "ESP32_RELAY_PORT": str(port),
                "ESP32_RELAY_CAMERAS__0__NAME": "yard",
                "ESP32_RELAY_CAMERAS__0__SIMULATE": "true",
            },
            port,
        )
    )
