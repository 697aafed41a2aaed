"""The processing settings of one camera: its chain (``[[cameras.processors]]``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import Field

from ..common.settings import SECTION


@dataclass(frozen=True)
class ProcessorConfig:
    """One stage of a camera's processor chain."""

    __pydantic_config__ = SECTION

    # A built-in processor, or "package.module:Class" for a user processor
    name: Annotated[str, Field(min_length=1)]
    id: str | None = None  # how requests name this stage; default: the processor's name
    enabled: bool = True
    params: Mapping[str, Any] = field(default_factory=dict)
