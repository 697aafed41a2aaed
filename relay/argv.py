"""The relay's command-line options, and the configuration they give with the file and the
environment: shared by ``esp32-relay`` and :func:`relay.app.create_app` (for
``python -m aiohttp.web``)."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import fields

from .config import ConfigError, RelayConfig, from_mapping, read_toml
from .settings import layers

log = logging.getLogger(__name__)

CONFIG_VARIABLE = "ESP32_RELAY_CONFIG"


def relay_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="esp32-relay",
        description="WebRTC relay for ESP32-CAM boards; with no --camera, a simulated board.",
        epilog="`esp32-relay simulate --help` for the simulated camera; `esp32-relay config"
        " check FILE | show | schema`; `esp32-relay discover` finds boards; `esp32-relay"
        " hash-password` and `esp32-relay new-token` print what goes into [auth].",
    )
    add_config_arguments(p)
    return p


def add_config_arguments(p: argparse.ArgumentParser) -> None:
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
    p.add_argument(
        "--config", metavar="FILE", help=f"TOML configuration file (default: ${CONFIG_VARIABLE})"
    )
    p.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR (default INFO)")
    p.add_argument("--log-format", help="text (default) or json: one JSON object per line")


def flag_settings(args: argparse.Namespace) -> list[layers.Setting]:
    out: list[layers.Setting] = []
    if args.camera is not None:
        out += layers.first_camera("url", args.camera, "--camera")
    if args.control is not None:
        out += layers.first_camera("control_url", args.control, "--control")
    for key in ("host", "port", "log_level", "log_format"):
        value = getattr(args, key)
        if value is not None:
            out.append(layers.Setting((key,), value, "--" + key.replace("_", "-")))
    return out


def config_file(args: argparse.Namespace, env: Mapping[str, str]) -> str | None:
    return args.config or env.get(CONFIG_VARIABLE) or None


def layered_mapping(args: argparse.Namespace, env: Mapping[str, str]) -> dict[str, object]:
    """The file's mapping with the environment, then the flags, on it."""
    path = config_file(args, env)
    raw = read_toml(path) if path else {}
    top = {f.name for f in fields(RelayConfig)}
    try:
        from_env, _ignored = layers.from_environment(env, top)  # warn_ignored says them
        settings = [*from_env, *flag_settings(args)]
        if "cameras" not in raw and any(s.path[0] == "cameras" for s in settings):
            # The built-in default camera, which the variables and flags then change.
            raw = {**raw, "cameras": [{"simulate": True}]}
        return layers.apply(raw, settings)
    except layers.LayerError as exc:
        raise ConfigError(str(exc)) from None


def load_config(args: argparse.Namespace, env: Mapping[str, str]) -> RelayConfig:
    """The file (if any), then ``ESP32_RELAY_*`` variables, then the flags."""
    raw = layered_mapping(args, env)
    path = config_file(args, env)
    return from_mapping(raw, path or "config")


def warn_ignored(env: Mapping[str, str]) -> None:
    """Say which ``ESP32_RELAY_*`` variables name no setting (once logging is set up)."""
    _settings, ignored = layers.from_environment(env, {f.name for f in fields(RelayConfig)})
    for name in ignored:
        log.warning("%s is not a setting of the relay; ignored", name)


def config_from_argv(argv: Sequence[str], env: Mapping[str, str] | None = None) -> RelayConfig:
    """The configuration ``esp32-relay ARGV`` would run with."""
    args = relay_parser().parse_args(list(argv))
    env = dict(os.environ if env is None else env)
    cfg = load_config(args, env)
    warn_ignored(env)
    return cfg
