"""Command line: ``esp32-relay`` runs the relay, ``esp32-relay simulate`` a simulated board."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import os
import signal
import socket
import ssl
import sys
from collections.abc import Callable, Sequence
from dataclasses import fields

import ifaddr
from aiohttp import web

from . import logs
from .app import create_app
from .argv import load_config, relay_parser, warn_ignored
from .config import ConfigError, RelayConfig
from .credentials import secrets_command
from .discovery.command import discover_command
from .routes.keys import ACCESS, CAMERAS, CONFIG
from .settings.command import config_command
from .simulator.cli import add_arguments, options_from_args, run_simulator


def _simulate_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="esp32-relay simulate",
        description="A simulated ESP32-CAM speaking the CameraWebServer protocol.",
    )
    add_arguments(p)
    return p


def _urls(host: str, port: int, scheme: str = "http") -> list[str]:
    if host not in ("0.0.0.0", "::", ""):
        return [f"{scheme}://{host}:{port}/"]
    urls = [f"{scheme}://localhost:{port}/"]
    for adapter in ifaddr.get_adapters():  # this machine's LAN addresses, for other devices
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and not ip.ip.startswith("127."):
                urls.append(f"{scheme}://{ip.ip}:{port}/")
    return urls


class ListenError(OSError):
    """The relay's port cannot be had; nothing has been started."""


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything starts: a port in use is then one clear
    line, not a camera, a simulator and their tasks started only to be torn down."""
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        why = "the port is in use" if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
        raise ListenError(f"cannot listen on {host}:{port}: {why}") from None
    sock.setblocking(False)
    return sock


def tls_context(cfg: RelayConfig) -> ssl.SSLContext | None:
    if not cfg.tls.enabled:
        return None
    try:
        return cfg.tls.context()
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"tls: cannot load {cfg.tls.cert} and {cfg.tls.key}: {exc}") from None


async def serve(cfg: RelayConfig, reload: Callable[[], RelayConfig] | None = None) -> None:
    """Serve until SIGINT or SIGTERM; on SIGHUP, ``reload()`` gives the new configuration,
    whose ``[auth]`` section replaces the identities (the rest needs a restart)."""
    ssl_context = tls_context(cfg)
    app = create_app(cfg)
    sock = listen(cfg.host, cfg.port)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    try:
        await runner.setup()
        await web.SockSite(runner, sock, ssl_context=ssl_context).start()
        port = sock.getsockname()[1]
        for url in _urls(cfg.host, port, "https" if ssl_context else "http"):
            print(f"esp32-relay: open {url}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        reloads: set[asyncio.Task[None]] = set()
        if reload is not None:

            def on_hup() -> None:
                task = asyncio.ensure_future(_reload(app, reload))
                reloads.add(task)
                task.add_done_callback(reloads.discard)

            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signal.SIGHUP, on_hup)
        await stop.wait()
    finally:
        await runner.cleanup()
        sock.close()


async def _reload(app: web.Application, reload: Callable[[], RelayConfig]) -> None:
    """SIGHUP: the identities of ``[auth]`` and the cameras follow the file; a camera added
    is started, one removed is stopped, one whose settings changed is restarted, and the
    others run on untouched. Other sections need a restart (the log says which)."""
    log = logging.getLogger("relay")
    try:
        new = reload()
    except Exception as exc:  # ConfigError, or a user processor failing to import
        log.error("SIGHUP: the configuration has an error; keeping the running one: %s", exc)
        return
    try:
        ended = await app[ACCESS].reload(new.auth)
    except ValueError as exc:
        log.error("SIGHUP: keeping the running access control: %s", exc)
        return
    log.info(
        "SIGHUP: access control reloaded (%d user(s), %d token(s)); %d session(s) ended",
        len(new.auth.users),
        len(new.auth.tokens),
        ended,
    )
    try:
        changes = await app[CAMERAS].apply(new)
    except Exception:
        log.exception("SIGHUP: applying the cameras failed")
        return
    log.info(
        "SIGHUP: cameras %s; added: %s; removed: %s; restarted: %s",
        ", ".join(app[CAMERAS].names()),
        ", ".join(changes.added) or "none",
        ", ".join(changes.removed) or "none",
        ", ".join(changes.restarted) or "none",
    )
    running = app[CONFIG]
    stale = [
        f.name
        for f in fields(RelayConfig)
        if f.name not in ("auth", "cameras", "simulator")
        and getattr(new, f.name) != getattr(running, f.name)
    ]
    if stale:
        log.warning("SIGHUP: %s changed; a restart applies it", ", ".join(stale))


# Libraries whose INFO lines are about their own workings (aioice logs every candidate
# pair of every viewer: a third of the log at twelve viewers), not about the relay.
CHATTY_LIBRARIES = ("aioice", "aiortc", "aiohttp.access")


def configure_logging(level: str, kind: str = "text") -> None:
    """The relay's own log at ``level``; the libraries' at WARNING unless DEBUG is asked for.
    ``kind``: "text" or "json" (one JSON object per line)."""
    logging.basicConfig(level=level.upper())
    root = logging.getLogger()
    root.setLevel(level.upper())  # also when handlers were already set up
    for handler in root.handlers:
        handler.setFormatter(logs.formatter(kind))
    quiet = logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(quiet)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("hash-password", "new-token"):
        return secrets_command(argv[0], argv[1:])
    if argv and argv[0] == "config":
        return config_command(argv[1:])
    if argv and argv[0] == "discover":
        return discover_command(argv[1:])
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
    configure_logging(cfg.log_level, cfg.log_format)
    warn_ignored(os.environ)
    try:
        asyncio.run(serve(cfg, lambda: load_config(args, dict(os.environ))))
    except ConfigError as exc:
        print(f"esp32-relay: {exc}", file=sys.stderr)
        return 2
    except ListenError as exc:
        print(f"esp32-relay: {exc}", file=sys.stderr)
        return 1
    return 0
