"""The relay's configuration: each part's own section, composed, validated by pydantic.

Each part owns its section's dataclass and the rules of its values (``relay.ingest.config``,
``relay.video.config``, ``relay.control.config``, ``relay.processing.config``,
``relay.access.config``, ``relay.simulator.options``, ``signaling.ice``); this module
composes them into :class:`RelayConfig` and reads it from a mapping (a TOML file, with the
environment and the command line layered on by :mod:`relay.settings.layers`).

The sections are plain frozen dataclasses that pydantic validates through a
``TypeAdapter``: the running relay sees ordinary dataclasses, and every refusal names the
key, the value and what is allowed (``cameras[1].encoder.bitrate: must be >= 100000, got
10``), for every problem in the file at once.

In the file, a camera's stream settings are keys of ``[[cameras]]`` itself (``url``,
``max_frame_size``, the timeouts), as is ``control_url``; ``[cameras.encoder]``,
``[cameras.control]``, ``[cameras.layers]`` and ``[[cameras.processors]]`` are its other
sections.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import AfterValidator, BeforeValidator, Field, TypeAdapter, ValidationError
from pydantic.json_schema import GetJsonSchemaHandler, JsonSchemaValue
from pydantic_core import CoreSchema

from signaling.ice import IcePolicy

from .access.config import AuthConfig, LimitsConfig, TokenConfig, UserConfig
from .common.settings import SECTION
from .control.config import ControlConfig
from .ingest.config import StreamConfig
from .processing.chain import RequestError, build_stages
from .processing.config import ProcessorConfig
from .routes.headers import HttpConfig
from .settings.errors import describe_errors
from .simulator.options import SimulatorConfig
from .tls import TlsConfig
from .video.config import EncoderConfig, LayersConfig

DEFAULT_CAMERA = "default"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Stream settings written at the camera level of the file.
STREAM_KEYS = tuple(f.name for f in fields(StreamConfig))
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which setting and why.

    ``problems``: one line per problem (a file with three mistakes names all three).
    """

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems) or [message]


def _camera_name(value: str) -> str:
    if not _NAME_RE.match(value):
        raise ValueError("use letters, digits, '-', '_' or '.' (at most 64), starting with one")
    return value


def _file_form(value: Any) -> Any:
    """A ``[[cameras]]`` table as written (stream keys and ``control_url`` at its level)
    into the shape of :class:`CameraConfig`."""
    if not isinstance(value, Mapping):
        return value
    data = dict(value)
    if "stream" in data:
        raise ValueError("unknown setting 'stream': the stream's keys (url, ...) go in the camera")
    data["stream"] = {k: data.pop(k) for k in STREAM_KEYS if k in data}
    if "control_url" in data:
        control = data.get("control", {})
        if isinstance(control, Mapping):
            if "url" in control:
                raise ValueError("control_url and control.url are the same setting: keep one")
            data["control"] = {**control, "url": data.pop("control_url")}
    return data


def _check_camera(cam: CameraConfig) -> CameraConfig:
    if cam.simulate and cam.stream.url:
        raise ValueError("url and simulate = true exclude each other; keep one")
    if not cam.simulate and not cam.stream.url:
        raise ValueError(
            'no url; set url = "http://BOARD-ADDRESS:81/stream" (the board\'s stream),'
            " or simulate = true for the built-in simulated board"
        )
    if cam.processors is not None:
        try:
            build_stages(cam.processors)
        except RequestError as exc:
            raise ValueError(f"processors: {exc}") from None
        except Exception as exc:  # a user processor's module failing as it is imported
            raise ValueError(f"processors: cannot load: {type(exc).__name__}: {exc}") from None
    return cam


@dataclass(frozen=True)
class CameraConfig:
    """One camera: each part's section, keyed by the camera's name."""

    __pydantic_config__ = SECTION

    name: Annotated[str, AfterValidator(_camera_name)] = DEFAULT_CAMERA
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

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The schema of the table as written: the stream's keys and ``control_url`` at the
        camera's level, no ``stream`` table."""
        schema = handler.resolve_ref_schema(handler(core_schema))
        props = schema["properties"]
        stream = handler.resolve_ref_schema(props.pop("stream"))
        merged = {"name": props.pop("name"), **stream["properties"]}
        merged["control_url"] = {
            "anyOf": [{"type": "string"}, {"type": "null"}],
            "description": "the board's control server; default: the stream's host, port 80",
        }
        schema["properties"] = {**merged, **props}
        return schema


def _unique_names(cameras: tuple[CameraConfig, ...]) -> tuple[CameraConfig, ...]:
    names = [c.name for c in cameras]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"camera names must be unique; {twice[0]!r} is used twice")
    return cameras


def _log_level(value: str) -> str:
    if value.upper() not in LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
    return value.upper()


def _ice(ice: IcePolicy) -> IcePolicy:
    problems = ice.problems()
    if problems:
        raise ValueError("; ".join(problems))
    return ice


def _tls(tls: TlsConfig) -> TlsConfig:
    problems = tls.problems()
    if problems:
        raise ValueError("; ".join(problems))
    return tls


CameraEntry = Annotated[CameraConfig, BeforeValidator(_file_form), AfterValidator(_check_camera)]


@dataclass(frozen=True)
class RelayConfig:
    __pydantic_config__ = SECTION

    host: str = "0.0.0.0"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    log_level: Annotated[str, AfterValidator(_log_level)] = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object per line
    cameras: Annotated[
        tuple[CameraEntry, ...], Field(min_length=1), AfterValidator(_unique_names)
    ] = (CameraConfig(simulate=True),)
    # No STUN or TURN server by default: on a LAN they only delay gathering, and a relay
    # should not talk to the internet unless told to.
    ice: Annotated[IcePolicy, AfterValidator(_ice)] = field(default_factory=IcePolicy)
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)
    max_viewers: Annotated[int, Field(ge=1)] = 200  # per camera; past it WHEP answers 503
    # Send Chromium's playout-delay extension with min = max = 0. Off by default: Chromium
    # then hands frames to its compositor sooner, but displays them no sooner (bench/RESULTS.md).
    zero_playout_delay: bool = False
    auth: AuthConfig = field(default_factory=AuthConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    tls: Annotated[TlsConfig, AfterValidator(_tls)] = field(default_factory=TlsConfig)
    http: HttpConfig = field(default_factory=HttpConfig)

    def camera(self, name: str) -> CameraConfig | None:
        return next((c for c in self.cameras if c.name == name), None)

    @property
    def default_camera(self) -> str:
        return self.cameras[0].name


def _identities_name_cameras(cfg: RelayConfig) -> RelayConfig:
    known = {c.name for c in cfg.cameras}
    idents: list[tuple[str, Sequence[UserConfig | TokenConfig]]] = [
        ("users", cfg.auth.users),
        ("tokens", cfg.auth.tokens),
    ]
    for kind, entries in idents:
        for i, entry in enumerate(entries):
            unknown = sorted(set(entry.cameras) - known - {"*"})
            if unknown:
                raise ValueError(
                    f"auth.{kind}[{i}].cameras: {entry.name}: no camera named {unknown[0]!r}"
                    f" (cameras: {', '.join(sorted(known))})"
                )
    return cfg


@cache
def adapter() -> TypeAdapter[RelayConfig]:
    """The validator of the whole file, built once (building it takes ~50 ms)."""
    return TypeAdapter(Annotated[RelayConfig, AfterValidator(_identities_name_cameras)])


def file_path(loc: Sequence[str | int]) -> tuple[str | int, ...]:
    """Where a setting is written in the file, from where it is in :class:`RelayConfig`."""
    loc = tuple(loc)
    if len(loc) >= 3 and loc[0] == "cameras" and isinstance(loc[1], int):
        if loc[2] == "stream":
            return loc[:2] + loc[3:]
        if loc[2:4] == ("control", "url"):
            return (*loc[:2], "control_url", *loc[4:])
    return loc


def from_mapping(raw: Mapping[str, Any], where: str = "config") -> RelayConfig:
    """Validate a configuration mapping (the TOML file's); raises :class:`ConfigError`
    listing every problem, each naming the setting, its value and what is allowed."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a table")
    try:
        return adapter().validate_python(dict(raw))
    except RecursionError:
        raise ConfigError(f"{where}: nested too deeply") from None
    except ValidationError as exc:
        problems = describe_errors(exc.errors(), RelayConfig, file_path)
    head = f"{where}: " if where != "config" else ""
    if len(problems) == 1:
        raise ConfigError(head + problems[0], problems)
    raise ConfigError(
        f"{head}{len(problems)} problems:\n" + "\n".join(f"  {p}" for p in problems), problems
    )


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A TOML file's mapping; :class:`ConfigError` when it cannot be read or parsed."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path}: not UTF-8 text ({exc.reason})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}") from exc
    except RecursionError:
        raise ConfigError(f"config file {path}: nested too deeply") from None


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
    return from_mapping(read_toml(path), str(path))
