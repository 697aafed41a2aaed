"""Command line: ``esp32-relay`` runs the relay, ``esp32-relay simulate`` a simulated board."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence

import ifaddr
from aiohttp import web

from . import config as config_mod
from .app import create_app
from .config import ConfigError, RelayConfig


def _relay_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="esp32-relay",
        description="WebRTC relay for ESP32-CAM boards; with no --camera, a simulated board.",
        epilog="`esp32-relay simulate --help` for the simulated camera.",
    )
    p.add_argument(
        "--camera",
        metavar="URL",
        help="the board's MJPEG stream, e.g. http://192.168.1.40:81/stream",
    )
    p.add_argument(
        "--control",
        metavar="URL",
        help="the board's control server (default: camera host, port 80)",
    )
    p.add_argument("--host", help="address to listen on (default 0.0.0.0)")
    p.add_argument("--port", type=int, help="port to listen on (default 8080)")
    p.add_argument("--config", metavar="FILE", help="TOML configuration file")
    p.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR (default INFO)")
    return p


def _simulate_parser() -> argparse.ArgumentParser:
    from .simulator import add_arguments

    p = argparse.ArgumentParser(
        prog="esp32-relay simulate",
        description="A simulated ESP32-CAM speaking the CameraWebServer protocol.",
    )
    add_arguments(p)
    return p


def load_config(args: argparse.Namespace, env: Mapping[str, str]) -> RelayConfig:
    cfg = config_mod.load_toml(args.config) if args.config else RelayConfig()
    cfg = config_mod.with_overrides(
        cfg,
        camera=args.camera,
        control=args.control,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
    )
    return config_mod.from_environment(cfg, env)


def config_from_argv(argv: Sequence[str], env: Mapping[str, str] | None = None) -> RelayConfig:
    """The configuration ``esp32-relay ARGV`` would run with."""
    args = _relay_parser().parse_args(list(argv))
    return load_config(args, dict(os.environ if env is None else env))


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
        from .simulator import options_from_args, run_simulator

        sargs = _simulate_parser().parse_args(argv[1:])
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_simulator(options_from_args(sargs)))
        return 0
    args = _relay_parser().parse_args(argv)
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
