"""What every processor is: a name, a parameter schema and one method, ``process``.

A processor receives a decoded frame (HxWx3 uint8 BGR, owned by the caller: it
may be drawn on in place) and returns the frame to pass on, which may be the
same array or a new one of any size. Processors run in the camera's worker
thread, one frame at a time, so they may keep state between frames without
locks. Parameters are checked against the schema before a processor is built,
the way camera controls are checked before anything reaches the board.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import cv2
import numpy as np

Event = dict[str, Any]
Emit = Callable[[Event], None]

KINDS = ("int", "float", "bool", "choice", "str", "color", "rects")
_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_RECTS = 32
MAX_STR = 200


class ParamError(ValueError):
    """A parameter value that the schema does not allow; the message says why."""


@dataclass(frozen=True)
class Param:
    """One parameter: its type, default and allowed values.

    Kinds: ``int`` and ``float`` (``min``..``max``), ``bool``, ``choice`` (one of
    ``options``), ``str`` (up to ``max_len`` characters), ``color`` (``"#rrggbb"``),
    ``rects`` (a list of ``[x, y, w, h]`` in pixels, at most 32).
    """

    name: str
    kind: str
    default: Any
    min: float | None = None
    max: float | None = None
    options: tuple[Any, ...] = ()
    label: str = ""
    max_len: int = MAX_STR

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "default": self.default,
            "label": self.label or self.name.replace("_", " "),
        }
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if self.options:
            out["options"] = list(self.options)
        return out

    def check(self, value: Any) -> Any:
        """The value in its canonical form; raises ParamError."""
        where = f"parameter {self.name!r}"
        kind = self.kind
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, int) and value in (0, 1):
                return bool(value)
            raise ParamError(f"{where} must be true or false, not {value!r}")
        if kind in ("int", "float"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ParamError(f"{where} must be a number, not {value!r}")
            if kind == "int":
                if isinstance(value, float) and not value.is_integer():
                    raise ParamError(f"{where} must be a whole number, not {value!r}")
                value = int(value)
            else:
                value = float(value)
                if not math.isfinite(value):
                    raise ParamError(f"{where} must be finite")
            if (
                self.min is not None
                and value < self.min
                or self.max is not None
                and value > self.max
            ):
                raise ParamError(f"{where}: {value} is out of range {self.min}..{self.max}")
            return value
        if kind == "choice":
            if value not in self.options or isinstance(value, bool):
                raise ParamError(f"{where} must be one of {list(self.options)}, not {value!r}")
            return value
        if kind == "str":
            if not isinstance(value, str) or len(value) > self.max_len:
                raise ParamError(f"{where} must be text of at most {self.max_len} characters")
            return value
        if kind == "color":
            if not isinstance(value, str) or not _COLOR_RE.match(value):
                raise ParamError(f'{where} must be a colour "#rrggbb", not {value!r}')
            return value.lower()
        if kind == "rects":
            return _check_rects(value, where)
        raise ParamError(f"{where} has an unknown kind {kind!r}")


def _check_rects(value: Any, where: str) -> list[list[int]]:
    if not isinstance(value, list | tuple) or len(value) > MAX_RECTS:
        raise ParamError(f"{where} must be a list of at most {MAX_RECTS} [x, y, w, h]")
    out: list[list[int]] = []
    for rect in value:
        if (
            not isinstance(rect, list | tuple)
            or len(rect) != 4
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in rect)
        ):
            raise ParamError(f"{where}: each rectangle is [x, y, w, h] in whole pixels: {rect!r}")
        x, y, w, h = rect
        if x < 0 or y < 0 or w <= 0 or h <= 0 or max(x, y, w, h) > 100_000:
            raise ParamError(f"{where}: {list(rect)} needs x, y >= 0 and w, h > 0")
        out.append([x, y, w, h])
    return out


def hex_to_bgr(color: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` as OpenCV's (blue, green, red)."""
    v = int(color[1:], 16)
    return (v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF)


@dataclass(frozen=True, slots=True)
class FrameContext:
    """What a processor may know about the frame besides its pixels."""

    seq: int  # frames seen by the chain so far
    wall: float  # time.time() when the chain received the frame
    emit: Emit  # pushes {"kind": ..., ...} as an event to every viewer; thread-safe
    processor: str = ""  # the id of the stage being run, added to emitted events


class Processor:
    """Base class of built-in and user processors.

    Subclasses set ``name`` (registry key), ``label`` (for the page), ``schema``
    (their parameters) and implement :meth:`process`. ``self.params`` holds the
    checked parameter values, defaults filled in.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    schema: ClassVar[tuple[Param, ...]] = ()

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self.params: dict[str, Any] = self.check_params(params or {})

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with ``params``; raises ParamError for unknown or bad values."""
        known = {p.name: p for p in cls.schema}
        if not isinstance(params, Mapping):
            raise ParamError("params must be an object")
        for key in params:
            if key not in known:
                names = ", ".join(known) or "none"
                raise ParamError(f"{cls.name or cls.__name__}: unknown parameter {key!r} ({names})")
        out = {p.name: p.default for p in cls.schema}
        for key, value in params.items():
            out[key] = known[key].check(value)
        return out

    @classmethod
    def describe(cls) -> dict[str, Any]:
        return {
            "name": cls.name,
            "label": cls.label or cls.name,
            "schema": [p.describe() for p in cls.schema],
        }

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        raise NotImplementedError


@dataclass
class RateLimit:
    """At most one event per ``interval`` seconds."""

    interval: float
    _last: float = field(default=-math.inf)

    def ready(self, now: float) -> bool:
        if now - self._last < self.interval:
            return False
        self._last = now
        return True


def report_boxes(
    frame: np.ndarray,
    ctx: FrameContext,
    boxes: list[list[int]],
    *,
    kind: str,
    draw: bool,
    color: str,
    rate: RateLimit,
) -> np.ndarray:
    """Draw detection boxes ``[x, y, w, h]`` and send a rate-limited ``event`` with them."""
    if not boxes:
        return frame
    if draw:
        bgr = hex_to_bgr(color)
        thick = max(1, frame.shape[1] // 320)
        for x, y, bw, bh in boxes:
            cv2.rectangle(frame, (x, y), (x + bw - 1, y + bh - 1), bgr, thick)
    if rate.ready(ctx.wall):
        h, w = frame.shape[:2]
        ctx.emit({"kind": kind, "boxes": boxes, "width": w, "height": h, "time": ctx.wall})
    return frame
