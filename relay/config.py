"""The relay's configuration: each part's own section, composed, from TOML, flags and environment.

Precedence, lowest first: built-in defaults, the TOML file, command-line flags,
``ESP32_RELAY_*`` environment variables. Everything per camera is keyed by the
camera's name. Each part owns its section's dataclass (``relay.ingest.config``,
``relay.video.config``, ``relay.control.config``, ``relay.processing.config``,
``relay.simulator.options``, ``signaling.ice``); this module only reads them from a
mapping, with every error naming the setting.

In the file, a camera's stream settings are keys of ``[[cameras]]`` itself (``url``,
``max_frame_size``, the timeouts), as is ``control_url``; ``[cameras.encoder]``,
``[cameras.control]`` and ``[[cameras.processors]]`` are its other sections.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from signaling.ice import IcePolicy
from signaling.turn import TurnRest

from .access import config as access_config
from .access.config import AuthConfig, LimitsConfig, TokenConfig, UserConfig
from .control.config import ControlConfig
from .ingest.config import StreamConfig
from .processing.chain import RequestError, build_stages
from .processing.config import ProcessorConfig
from .routes.headers import HttpConfig
from .simulator.options import SimulatorConfig
from .tls import TlsConfig
from .video.config import EncoderConfig, LayersConfig

DEFAULT_CAMERA = "default"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Stream settings written at the camera level of the file.
_STREAM_KEYS = frozenset(f.name for f in fields(StreamConfig))


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which setting and why."""


@dataclass(frozen=True)
class CameraConfig:
    """One camera: each part's section, keyed by the camera's name."""

    name: str = DEFAULT_CAMERA
    stream: StreamConfig = field(default_factory=StreamConfig)
    # The built-in simulated board instead of a real one. Only ever on request (and for the
    # default camera when nothing is configured): a forgotten url must not make a fake camera.
    simulate: bool = False
    # Mark placeholder frames with the frame code, as the simulator marks its own frames:
    # for tests and benchmarks reading a simulator by URL. Simulated cameras always do.
    frame_code: bool = False
    control: ControlConfig = field(default_factory=ControlConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    layers: LayersConfig = field(default_factory=LayersConfig)
    # The processor chain; None: every built-in, switched off (the viewer page turns them on).
    processors: tuple[ProcessorConfig, ...] | None = None

    def resolved_control_url(self) -> str | None:
        """The control server: as configured, or the stream's host on port 80."""
        if self.control.url:
            return self.control.url.rstrip("/")
        if not self.stream.url:
            return None
        parts = urlsplit(self.stream.url)
        host = parts.hostname or ""
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        return urlunsplit((parts.scheme or "http", host, "", "", ""))


@dataclass(frozen=True)
class RelayConfig:
    host: str = "0.0.0.0"
    port: int = 8080
    log_level: str = "INFO"
    log_format: str = "text"  # or "json": one object per line
    cameras: tuple[CameraConfig, ...] = (CameraConfig(simulate=True),)
    # No STUN or TURN server by default: on a LAN they only delay gathering, and a relay
    # should not talk to the internet unless told to.
    ice: IcePolicy = field(default_factory=IcePolicy)
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)
    max_viewers: int = 200  # per camera; past it WHEP answers 503
    # Send Chromium's playout-delay extension with min = max = 0. Off by default: Chromium
    # then hands frames to its compositor sooner, but displays them no sooner (bench/RESULTS.md).
    zero_playout_delay: bool = False
    auth: AuthConfig = field(default_factory=AuthConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    tls: TlsConfig = field(default_factory=TlsConfig)
    http: HttpConfig = field(default_factory=HttpConfig)

    def camera(self, name: str) -> CameraConfig | None:
        return next((c for c in self.cameras if c.name == name), None)

    @property
    def default_camera(self) -> str:
        return self.cameras[0].name


def _build(cls: type, data: Mapping[str, Any], where: str) -> Any:
    """Build a frozen dataclass from a mapping, rejecting unknown keys and wrong types."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where} must be a table")
    known = {f.name: f for f in fields(cls)}
    defaults = cls()
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown setting {key!r}")
        default = getattr(defaults, key)
        if default is None and str(known[key].type).startswith("str"):
            default = ""  # an optional text setting (a URL): when given, text
        _check_type(default, value, f"{where}: {key}")
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _check_type(default: Any, value: Any, where: str) -> None:
    """Settings take the type of their default (a float setting also takes an integer)."""
    if default is None or not isinstance(default, bool | int | float | str):
        return
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise ConfigError(f"{where} must be {type(default).__name__}, not {value!r}")


def _processors_from(raw: Any, where: str) -> tuple[ProcessorConfig, ...]:
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: processors must be a list of tables")
    stages = []
    for i, item in enumerate(raw):
        here = f"{where}.processors[{i}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise ConfigError(f'{here}: needs name = "<processor>" or "module:Class"')
        if not isinstance(item.get("id", ""), str):
            raise ConfigError(f"{here}: id must be a string")
        if not isinstance(item.get("params", {}), Mapping):
            raise ConfigError(f"{here}: params must be a table")
        stage: ProcessorConfig = _build(ProcessorConfig, item, here)
        stages.append(replace(stage, params=dict(stage.params)))
    return tuple(stages)


def _camera_from(data: Any, where: str) -> CameraConfig:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where} must be a table")
    data = dict(data)
    stream = {k: data.pop(k) for k in list(data) if k in _STREAM_KEYS}
    control = data.pop("control", {})
    if not isinstance(control, Mapping):
        raise ConfigError(f"{where}.control must be a table")
    control = dict(control)
    if "control_url" in data:
        control["url"] = data.pop("control_url")
    encoder = data.pop("encoder", {})
    layers = data.pop("layers", {})
    processors = data.pop("processors", None)
    cam: CameraConfig = _build(CameraConfig, data, where)
    return replace(
        cam,
        stream=_build(StreamConfig, stream, where),
        control=_build(ControlConfig, control, f"{where}.control"),
        encoder=_build(EncoderConfig, encoder, f"{where}.encoder"),
        layers=_build(LayersConfig, layers, f"{where}.layers"),
        processors=None if processors is None else _processors_from(processors, where),
    )


def load_toml(path: str | os.PathLike[str]) -> RelayConfig:
    """Read a TOML config file.

    ```toml
    port = 8080
    [[cameras]]
    name = "garage"
    url = "http://192.168.1.40:81/stream"
    [ice]
    servers = [{urls = "stun:stun.example.org"}]
    addresses = ["192.168.1.0/24"]
    ```
    """
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}") from exc
    return from_mapping(raw, str(path))


def _list_of(value: Any, where: str) -> tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise ConfigError(f"{where} must be a list, not {value!r}")
    return tuple(value)


def _ice_servers(value: Any, where: str) -> tuple[Mapping[str, Any], ...]:
    """``[{urls = "stun:..." or [...], username?, credential?}]``, as RTCIceServer takes."""
    servers = _list_of(value, where)
    for i, server in enumerate(servers):
        here = f"{where}[{i}]"
        if not isinstance(server, Mapping):
            raise ConfigError(f'{here} must be a table: {{urls = "stun:host:3478"}}')
        unknown = set(server) - {"urls", "username", "credential"}
        if unknown:
            raise ConfigError(f"{here}: unknown setting {sorted(unknown)[0]!r}")
        urls = server.get("urls")
        if not (
            isinstance(urls, str)
            or (isinstance(urls, list) and urls and all(isinstance(u, str) for u in urls))
        ):
            raise ConfigError(f"{here}: urls must be a URL or a list of URLs, not {urls!r}")
        for key in ("username", "credential"):
            if key in server and not isinstance(server[key], str):
                raise ConfigError(f"{here}: {key} must be a string")
    return servers


def from_mapping(raw: Mapping[str, Any], where: str = "config") -> RelayConfig:
    raw = dict(raw)
    cameras_raw = raw.pop("cameras", None)
    ice_raw = raw.pop("ice", {})
    sim_raw = raw.pop("simulator", {})
    auth_raw = raw.pop("auth", {})
    limits_raw = raw.pop("limits", {})
    tls_raw = raw.pop("tls", {})
    http_raw = raw.pop("http", {})
    cfg: RelayConfig = _build(RelayConfig, raw, where)
    if cameras_raw is not None:
        if not isinstance(cameras_raw, list) or not cameras_raw:
            raise ConfigError(f"{where}: cameras must be a non-empty list of tables")
        cams = tuple(_camera_from(c, f"{where}: cameras[{i}]") for i, c in enumerate(cameras_raw))
        cfg = replace(cfg, cameras=cams)
    ice = dict(ice_raw) if isinstance(ice_raw, Mapping) else ice_raw
    if isinstance(ice, dict):
        ice["servers"] = _ice_servers(ice.get("servers", []), f"{where}: ice.servers")
        addresses = _list_of(ice.get("addresses", []), f"{where}: ice.addresses")
        for i, item in enumerate(addresses):
            if not isinstance(item, str):
                raise ConfigError(f"{where}: ice.addresses[{i}] must be a string, not {item!r}")
        ice["addresses"] = addresses
        if "turn_rest" in ice:
            ice["turn_rest"] = _turn_rest(ice["turn_rest"], f"{where}: ice.turn_rest")
    http = dict(http_raw) if isinstance(http_raw, Mapping) else http_raw
    if isinstance(http, dict) and "kiosk_frame_ancestors" in http:
        sources = _list_of(http["kiosk_frame_ancestors"], f"{where}: http.kiosk_frame_ancestors")
        if not all(isinstance(x, str) and x and ";" not in x for x in sources):
            raise ConfigError(f"{where}: http.kiosk_frame_ancestors: a list of CSP sources")
        http["kiosk_frame_ancestors"] = sources
    cfg = replace(
        cfg,
        ice=_build(IcePolicy, ice, f"{where}: ice"),
        simulator=_build(SimulatorConfig, sim_raw, f"{where}: simulator"),
        auth=_auth_from(auth_raw, f"{where}: auth"),
        limits=_build(LimitsConfig, limits_raw, f"{where}: limits"),
        tls=_build(TlsConfig, tls_raw, f"{where}: tls"),
        http=_build(HttpConfig, http, f"{where}: http"),
    )
    validate(cfg)
    return cfg


def _turn_rest(raw: Any, where: str) -> TurnRest:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(raw) - {"urls", "secret", "ttl"})
    if unknown:
        raise ConfigError(f"{where}: unknown setting {unknown[0]!r}")
    urls = raw.get("urls")
    urls = [urls] if isinstance(urls, str) else urls
    if (
        not isinstance(urls, list)
        or not urls
        or not all(isinstance(u, str) and u.startswith(("turn:", "turns:")) for u in urls)
    ):
        raise ConfigError(f"{where}: urls must be turn: or turns: URLs, not {raw.get('urls')!r}")
    secret = raw.get("secret")
    if not isinstance(secret, str) or not secret:
        raise ConfigError(f"{where}: secret is required (the TURN server's static-auth-secret)")
    ttl = raw.get("ttl", 86400)
    if not isinstance(ttl, int) or isinstance(ttl, bool) or not 60 <= ttl <= 7 * 86400:
        raise ConfigError(f"{where}: ttl must be seconds in 60..604800, not {ttl!r}")
    return TurnRest(tuple(urls), secret, ttl)


def _auth_from(raw: Any, where: str) -> AuthConfig:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a table")
    raw = dict(raw)
    try:
        users = access_config.users_from(raw.pop("users", []), f"{where}.users")
        tokens = access_config.tokens_from(raw.pop("tokens", []), f"{where}.tokens")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    auth: AuthConfig = _build(AuthConfig, raw, where)
    auth = replace(auth, users=users, tokens=tokens)
    try:
        access_config.check(auth, where)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return auth


def with_overrides(
    cfg: RelayConfig,
    *,
    camera: str | None = None,
    control: str | None = None,
    host: str | None = None,
    port: int | None = None,
    log_level: str | None = None,
    log_format: str | None = None,
) -> RelayConfig:
    """Apply command-line flags: they set the first (default) camera and the listener."""
    first = cfg.cameras[0]
    if camera is not None:
        first = replace(first, stream=replace(first.stream, url=camera), simulate=False)
    if control is not None:
        first = replace(first, control=replace(first.control, url=control))
    cfg = replace(cfg, cameras=(first, *cfg.cameras[1:]))
    if host is not None:
        cfg = replace(cfg, host=host)
    if port is not None:
        cfg = replace(cfg, port=port)
    if log_level is not None:
        cfg = replace(cfg, log_level=log_level)
    if log_format is not None:
        cfg = replace(cfg, log_format=log_format)
    validate(cfg)
    return cfg


def from_environment(cfg: RelayConfig, env: Mapping[str, str]) -> RelayConfig:
    """``ESP32_RELAY_CAMERA``, ``_CONTROL``, ``_HOST``, ``_PORT``, ``_LOG_LEVEL``,
    ``_LOG_FORMAT`` override all."""
    port = env.get("ESP32_RELAY_PORT")
    try:
        port_n = int(port) if port else None
    except ValueError as exc:
        raise ConfigError(f"ESP32_RELAY_PORT must be a number, not {port!r}") from exc
    return with_overrides(
        cfg,
        camera=env.get("ESP32_RELAY_CAMERA") or None,
        control=env.get("ESP32_RELAY_CONTROL") or None,
        host=env.get("ESP32_RELAY_HOST") or None,
        port=port_n,
        log_level=env.get("ESP32_RELAY_LOG_LEVEL") or None,
        log_format=env.get("ESP32_RELAY_LOG_FORMAT") or None,
    )


def validate(cfg: RelayConfig) -> None:
    if not 0 <= cfg.port <= 65535:
        raise ConfigError(f"port {cfg.port} is out of range 0..65535")
    names = [c.name for c in cfg.cameras]
    if len(set(names)) != len(names):
        raise ConfigError(f"camera names must be unique: {names}")
    for cam in cfg.cameras:
        if not _NAME_RE.match(cam.name):
            raise ConfigError(
                f"camera name {cam.name!r}: use letters, digits, '-', '_' or '.' (max 64)"
            )
        if cam.simulate and cam.stream.url:
            raise ConfigError(
                f"camera {cam.name}: url and simulate = true exclude each other; keep one"
            )
        if not cam.simulate and not cam.stream.url:
            raise ConfigError(
                f'camera {cam.name}: no url; set url = "http://BOARD-ADDRESS:81/stream"'
                " (the board's stream), or simulate = true for the built-in simulated board"
            )
        for label, url in (("url", cam.stream.url), ("control_url", cam.control.url)):
            if url is not None:
                parts = urlsplit(url)
                if parts.scheme != "http" or not parts.hostname:
                    raise ConfigError(f"camera {cam.name}: {label} must be an http:// URL: {url!r}")
        if cam.stream.max_frame_size < 1024:
            raise ConfigError(f"camera {cam.name}: max_frame_size too small")
        enc = cam.encoder
        if not 100_000 <= enc.bitrate <= 50_000_000:
            raise ConfigError(f"camera {cam.name}: encoder bitrate out of 100k..50M")
        if not 0 <= enc.cpu_used <= 16:
            raise ConfigError(f"camera {cam.name}: encoder cpu_used out of 0..16")
        if not 0.1 <= cam.layers.low_scale <= 0.75:
            raise ConfigError(f"camera {cam.name}: layers.low_scale out of 0.1..0.75")
        if not 0.02 <= cam.layers.low_share <= 0.75:
            raise ConfigError(f"camera {cam.name}: layers.low_share out of 0.02..0.75")
        if cam.processors is not None:
            _validate_processors(cam)
    if cfg.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(f"unknown log level {cfg.log_level!r}")
    if cfg.log_format not in ("text", "json"):
        raise ConfigError(f"log_format must be 'text' or 'json', got {cfg.log_format!r}")
    problems = cfg.ice.problems() + cfg.tls.problems()
    if problems:
        raise ConfigError("; ".join(problems))
    try:
        access_config.check_limits(cfg.limits)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    known = set(names)
    idents: list[UserConfig | TokenConfig] = [*cfg.auth.users, *cfg.auth.tokens]
    for ident in idents:
        unknown = sorted(set(ident.cameras) - known - {"*"})
        if unknown:
            raise ConfigError(
                f"auth: {ident.name}: no camera named {unknown[0]!r} (cameras: {sorted(known)})"
            )


def _validate_processors(cam: CameraConfig) -> None:
    """Every stage names a loadable processor with valid parameters and a unique id."""
    try:
        build_stages(cam.processors or ())
    except RequestError as exc:
        raise ConfigError(f"camera {cam.name}: processors: {exc}") from exc
