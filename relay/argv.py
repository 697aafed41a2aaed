"""The relay's command-line options, and the configuration they give with the file and the
environment: shared by ``esp32-relay`` and :func:`relay.app.create_app` (for
``python -m aiohttp.web``)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence

from . import config as config_mod
from .config import RelayConfig


def relay_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="esp32-relay",
        description="WebRTC relay for ESP32-CAM boards; with no --camera, a simulated board.",
        epilog="`esp32-relay simulate --help` for the simulated camera; `esp32-relay"
        " hash-password` and `esp32-relay new-token` print what goes into [auth].",
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
    p.add_argument("--log-format", help="text (default) or json: one JSON object per line")
    return p


def load_config(args: argparse.Namespace, env: Mapping[str, str]) -> RelayConfig:
    """The file (if any), then the flags, then ``ESP32_RELAY_*`` variables."""
    cfg = config_mod.load_toml(args.config) if args.config else RelayConfig()
    cfg = config_mod.with_overrides(
        cfg,
        camera=args.camera,
        control=args.control,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        log_format=args.log_format,
    )
    return config_mod.from_environment(cfg, env)


def config_from_argv(argv: Sequence[str], env: Mapping[str, str] | None = None) -> RelayConfig:
    """The configuration ``esp32-relay ARGV`` would run with."""
    args = relay_parser().parse_args(list(argv))
    return load_config(args, dict(os.environ if env is None else env))
