"""``esp32-relay config check FILE | show | schema``."""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
from collections.abc import Sequence

from ..argv import add_config_arguments, load_config
from ..config import ConfigError, RelayConfig, load_toml
from . import show as show_mod


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="esp32-relay config", description="The configuration.")
    sub = p.add_subparsers(dest="what", required=True)
    check = sub.add_parser("check", help="validate a file: every problem, named; exit 2 if any")
    check.add_argument("file", metavar="FILE")
    shown = sub.add_parser(
        "show",
        help="the effective configuration (file, then ESP32_RELAY_* variables, then flags)"
        " as TOML, secrets masked",
    )
    add_config_arguments(shown)
    shown.add_argument("--secrets", action="store_true", help="print secrets too")
    sub.add_parser("schema", help="the file's JSON Schema, for editors")
    return p


def machine_problems(cfg: RelayConfig) -> list[str]:
    """What the relay would refuse at start on this machine, past the file's own rules."""
    problems = [f"ice.addresses: {p}" for p in cfg.ice.check()]
    if cfg.tls.enabled:
        try:
            cfg.tls.context()
        except (OSError, ssl.SSLError) as exc:
            problems.append(f"tls: cannot load {cfg.tls.cert} and {cfg.tls.key}: {exc}")
    return problems


def config_command(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    if args.what == "schema":
        print(json.dumps(show_mod.json_schema(), indent=2))
        return 0
    try:
        cfg = load_toml(args.file) if args.what == "check" else load_config(args, dict(os.environ))
    except ConfigError as exc:
        print(f"esp32-relay: {exc}", file=sys.stderr)
        return 2
    problems = machine_problems(cfg)
    for problem in problems:
        print(f"esp32-relay: {problem}", file=sys.stderr)
    if args.what == "check":
        if problems:
            return 2
        names = ", ".join(c.name for c in cfg.cameras)
        print(f"{args.file}: ok; {len(cfg.cameras)} camera(s): {names}")
        return 0
    sys.stdout.write(show_mod.show(cfg, secrets=args.secrets))
    return 0
