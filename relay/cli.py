"""Command line: ``esp32-relay`` runs the relay, ``esp32-relay simulate`` a simulated board."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Sequence

import ifaddr
from aiohttp import web

from .app import create_app
from .argv import load_config, relay_parser
from .config import ConfigError, RelayConfig
from .simulator.cli import add_arguments, options_from_args, run_simulator


def _simulate_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="esp32-relay simulate",
        description="A simulated ESP32-CAM speaking the CameraWebServer protocol.",
    )
    add_arguments(p)
    return p


def _urls(host: str, port: int) -> list[str]:
    if host not in ("0.0.0.0", "::", ""):
        return [f"http://{host}:{port}/"]
    urls = [f"http://localhost:{port}/"]
    for adapter in ifaddr.get_adapters():  # this machine's LAN addresses, for other devices
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and not ip.ip.startswith("127."):
                urls.append(f"http://{ip.ip}:{port}/")
    return urls


async def serve(cfg: RelayConfig) -> None:
    app = create_app(cfg)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, cfg.host, cfg.port)
    await site.start()
    port = cfg.port
    if port == 0 and runner.addresses:
        port = runner.addresses[0][1]
    for url in _urls(cfg.host, port):
        print(f"esp32-relay: open {url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "simulate":
        sargs = _simulate_parser().parse_args(argv[1:])
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_simulator(options_from_args(sargs)))
        return 0
    args = relay_parser().parse_args(argv)
    try:
        cfg = load_config(args, dict(os.environ))
    except ConfigError as exc:
        print(f"esp32-relay: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=cfg.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        asyncio.run(serve(cfg))
    except OSError as exc:
        print(f"esp32-relay: cannot listen on {cfg.host}:{cfg.port}: {exc}", file=sys.stderr)
        return 1
    return 0
