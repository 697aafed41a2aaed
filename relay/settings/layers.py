"""The environment and the command line, layered on the file's mapping before validation.

Precedence, lowest first: built-in defaults, the TOML file, ``ESP32_RELAY_*`` variables,
command-line flags. Layering happens on the mapping, before anything is validated, so a
value from any layer is checked by the same rules and named in the same words.

A variable names a key by its path, ``__`` between levels and a list's index as a number:
``ESP32_RELAY_PORT=9000``, ``ESP32_RELAY_CAMERAS__0__URL=http://...``,
``ESP32_RELAY_CAMERAS__1__ENCODER__BITRATE=800000``. Its value is text, which the setting's
type reads (``9000``, ``true``); one that starts with ``[`` or ``{`` is a TOML value
(``ESP32_RELAY_ICE__ADDRESSES=["192.168.1.0/24"]``). ``ESP32_RELAY_CAMERA`` and
``ESP32_RELAY_CONTROL`` are the first camera's stream and control URLs, as ``--camera``
and ``--control`` are. Pure: mappings in, a mapping out.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import path_text

PREFIX = "ESP32_RELAY_"
# The first camera's URLs, as the flags --camera and --control set them.
CAMERA_VARIABLES = {"CAMERA": "url", "CONTROL": "control_url"}
# Read by the command line itself, not settings.
NOT_SETTINGS = frozenset({"CONFIG"})

Path = tuple[str | int, ...]


class LayerError(ValueError):
    """A variable or flag that cannot be applied; the message names it."""


@dataclass(frozen=True)
class Setting:
    """One value from a layer: where it goes, and who set it (for error messages)."""

    path: Path
    value: Any
    source: str


def first_camera(key: str, value: Any, source: str) -> list[Setting]:
    """The first camera's stream (``url``) or control URL, as the flags set them: a
    stream URL also means a real board, not the built-in simulator."""
    out = [Setting(("cameras", 0, key), value, source)]
    if key == "url":
        out.append(Setting(("cameras", 0, "simulate"), False, source))
    return out


def _value(text: str, name: str) -> Any:
    if text[:1] in ("[", "{"):
        try:
            return tomllib.loads(f"v = {text}")["v"]
        except RecursionError:
            raise LayerError(f"{name}: nested too deeply") from None
        except tomllib.TOMLDecodeError as exc:
            raise LayerError(f"{name}: not a TOML list or table: {exc}") from None
    return text


def from_environment(
    env: Mapping[str, str], top_keys: Collection[str]
) -> tuple[list[Setting], list[str]]:
    """The settings ``ESP32_RELAY_*`` variables make, and the names of those that are not
    settings (so the caller can say they were ignored: a typo must not pass silently)."""
    settings: list[Setting] = []
    ignored: list[str] = []
    for name in sorted(env):
        if not name.startswith(PREFIX):
            continue
        rest = name[len(PREFIX) :]
        if rest in NOT_SETTINGS:
            continue
        text = env[name]
        if rest in CAMERA_VARIABLES:
            if text:
                settings += first_camera(CAMERA_VARIABLES[rest], text, name)
            continue
        parts = rest.lower().split("__")
        if parts[0] not in top_keys or any(not p for p in parts):
            ignored.append(name)
            continue
        path: Path = tuple(int(p) if p.isascii() and p.isdigit() else p for p in parts)
        settings.append(Setting(path, _value(text, name), name))
        if path[0] == "cameras" and len(path) == 3 and path[2] == "url":
            # A board's URL is a real board, as --camera is (unless SIMULATE says otherwise).
            simulate = f"{PREFIX}CAMERAS__{path[1]}__SIMULATE"
            if simulate not in env:
                settings.append(Setting((*path[:2], "simulate"), False, name))
    return settings, ignored


def _drop_other_spelling(raw: dict[str, Any], path: Path) -> None:
    """A camera's control URL is ``control_url`` or ``[cameras.control] url``: a layer
    setting one spelling replaces the other, which a lower layer may have written."""
    if len(path) < 3 or path[0] != "cameras" or not isinstance(path[1], int):
        return
    cameras = raw.get("cameras")
    if not isinstance(cameras, list) or path[1] >= len(cameras):
        return
    camera = cameras[path[1]]
    if not isinstance(camera, dict):
        return
    if path[2:] == ("control_url",) and isinstance(camera.get("control"), dict):
        camera["control"].pop("url", None)
    elif path[2:] == ("control", "url"):
        camera.pop("control_url", None)


def apply(raw: Mapping[str, Any], settings: Iterable[Setting]) -> dict[str, Any]:
    """``raw`` with each setting put in place (later ones win), creating the tables on
    the way. A list entry may be changed or added at the end (index == length)."""
    out = copy.deepcopy(dict(raw))
    for s in settings:
        _drop_other_spelling(out, s.path)
        node: Any = out
        for i, key in enumerate(s.path):
            last = i == len(s.path) - 1
            nxt = None if last else s.path[i + 1]
            empty: Any = [] if isinstance(nxt, int) else {}
            here = path_text(s.path[:i]) or "the configuration"
            if isinstance(key, int):
                if not isinstance(node, list):
                    raise LayerError(f"{s.source}: {here} is not a list")
                if key > len(node):
                    raise LayerError(
                        f"{s.source}: {here} has {len(node)} entries; index {key}"
                        f" would leave a gap (the next one is {len(node)})"
                    )
                if key == len(node):
                    node.append(empty)
                if last:
                    node[key] = s.value
                else:
                    node = node[key]
                continue
            if not isinstance(node, dict):
                raise LayerError(f"{s.source}: {here} is not a table")
            if last:
                node[key] = s.value
            else:
                node = node.setdefault(key, empty)
    return out
