"""The processing settings of one camera: its chain (``[[cameras.processors]]``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProcessorConfig:
    """One stage of a camera's processor chain."""

    name: str = ""  # a built-in processor, or "package.module:Class" for a user processor
    id: str | None = None  # how requests name this stage; default: the processor's name
    enabled: bool = True
    params: Mapping[str, Any] = field(default_factory=dict)
