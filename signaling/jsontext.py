"""Reading JSON from strangers: one reader, one set of limits and messages, for every path.

Pure: no I/O. The data channel and every JSON body of the HTTP API read their text
here, so a message is refused the same way whichever way it came: too large, not
UTF-8, not JSON, a ``NaN``/``Infinity`` (Python's json accepts them, JSON does not),
or nested deeper than :data:`MAX_DEPTH` (Python's parser would otherwise recurse until
a ``RecursionError``). No request of this relay needs more than a few levels.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32


class JsonError(ValueError):
    """Text that is not an acceptable JSON document; the message says why."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _depth(value: Any) -> int:
    """The nesting depth of a parsed document, without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest


def read_json(data: bytes | str, max_bytes: int) -> Any:
    """The document in ``data``; raises JsonError naming what is wrong with it."""
    size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
    if size > max_bytes:
        raise JsonError(f"too large: {size} bytes (limit {max_bytes})", too_large=True)
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonError(
                f"not UTF-8 text: byte 0x{data[exc.start]:02x} at position {exc.start}"
            ) from None
    try:
        value = json.loads(data, parse_constant=_no_constants)
    except RecursionError:
        raise JsonError(f"not JSON: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise JsonError(f"not JSON: {exc}") from None
    if _depth(value) > MAX_DEPTH:
        raise JsonError(f"not JSON: nested deeper than {MAX_DEPTH} levels")
    return value
