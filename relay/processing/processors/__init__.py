"""Frame processors: built-ins by name, and user classes by import path (``module:Class``).

See :mod:`relay.processing.processors.base` for what a processor is and
:mod:`relay.processing.chain` for the chain that runs them.
"""

from __future__ import annotations

import importlib

from .base import Emit, Event, FrameContext, Param, ParamError, Processor, hex_to_bgr
from .clahe import Clahe
from .crop import Crop
from .edges import Edges
from .faces import Faces
from .grayscale import Grayscale
from .motion import Motion
from .overlay import Text, Timestamp
from .privacy import PrivacyMask
from .resize import Resize
from .rotate import Flip, Rotate

# In the order a default chain runs them: geometry first, then masks (so nothing
# analyses or shows what they hide), picture changes, analysis, and text last.
BUILTINS: tuple[type[Processor], ...] = (
    Rotate,
    Flip,
    Crop,
    Resize,
    PrivacyMask,
    Clahe,
    Grayscale,
    Edges,
    Motion,
    Faces,
    Timestamp,
    Text,
)

__all__ = [
    "BUILTINS",
    "Emit",
    "Event",
    "FrameContext",
    "Param",
    "ParamError",
    "Processor",
    "UnknownProcessor",
    "builtin_names",
    "hex_to_bgr",
    "resolve",
]


class UnknownProcessor(ValueError):
    """A processor name that is neither built in nor an importable ``module:Class``."""


def builtin_names() -> list[str]:
    return [cls.name for cls in BUILTINS]


def resolve(name: str) -> type[Processor]:
    """The processor class for a built-in ``name`` or a ``package.module:Class`` path."""
    for builtin in BUILTINS:
        if builtin.name == name:
            return builtin
    if ":" not in name:
        raise UnknownProcessor(
            f"unknown processor {name!r}: built-ins are {', '.join(builtin_names())}; "
            "user processors are named 'module:Class'"
        )
    module_name, _, attr = name.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UnknownProcessor(f"processor {name!r}: cannot import {module_name}: {exc}") from exc
    cls: object = module
    for part in attr.split("."):
        cls = getattr(cls, part, None)
        if cls is None:
            raise UnknownProcessor(f"processor {name!r}: {module_name} has no {attr}")
    if not isinstance(cls, type) or not issubclass(cls, Processor):
        raise UnknownProcessor(
            f"processor {name!r} must be a subclass of {Processor.__module__}.Processor"
        )
    return cls
