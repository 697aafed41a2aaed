"""pydantic's validation errors as lines a person can act on.

``cameras[1].encoder.bitrate: must be >= 100000, got 10``: the key as written in the file,
the rule, and the value that broke it; an unknown key lists the keys its table allows.
Pure: the errors in, text out.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import typing_extensions
from pydantic_core import ErrorDetails

Loc = tuple[str | int, ...]

_TYPES = {
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "dict_type": "must be a table",
    "dataclass_type": "must be a table",
    "dataclass_args_type": "must be a table",
    "model_type": "must be a table",
    "missing": "is required",
    "missing_argument": "is required",
}
_BOUNDS = {
    "greater_than_equal": (">=", "ge"),
    "greater_than": (">", "gt"),
    "less_than_equal": ("<=", "le"),
    "less_than": ("<", "lt"),
}


def path_text(loc: Iterable[str | int]) -> str:
    """``("cameras", 1, "encoder", "bitrate")`` -> ``cameras[1].encoder.bitrate``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _unwrap(tp: Any) -> Any:
    """The table type under Annotated, Optional and tuple/list items, if any."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        elif origin in (tuple, list):
            tp = typing.get_args(tp)[0]
        else:
            return tp


def _table_keys(tp: Any) -> dict[str, Any] | None:
    tp = _unwrap(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = typing.get_type_hints(tp, include_extras=True)
        return {f.name: hints[f.name] for f in dataclasses.fields(tp)}
    if typing_extensions.is_typeddict(tp):
        return dict(typing.get_type_hints(tp, include_extras=True))
    return None


def allowed_keys(
    root: Any, loc: Sequence[str | int], to_file: Callable[[Loc], Loc] | None = None
) -> list[str] | None:
    """The keys the table at ``loc`` (in the dataclasses' shape) allows, as written in the
    file (``to_file`` maps a location to where it is written)."""
    tp = root
    for part in loc:
        if isinstance(part, int):
            continue
        keys = _table_keys(tp)
        if keys is None or part not in keys:
            return None
        tp = keys[part]
    keys = _table_keys(tp)
    if keys is None:
        return None
    if to_file is None:
        return sorted(keys)
    out: set[str] = set()
    for key, tp_key in keys.items():
        sub = _table_keys(tp_key) or {}
        # Keys of a table that the file writes at its parent's level (a camera's stream).
        lifted = [to_file((*loc, key, inner)) for inner in sub]
        lifted = [w for w in lifted if len(w) == len(loc) + 1]
        out.update(str(w[-1]) for w in lifted)
        if not sub or len(lifted) < len(sub):
            out.add(key)
    return sorted(out)


def describe(
    error: ErrorDetails, root: Any = None, to_file: Callable[[Loc], Loc] | None = None
) -> str:
    """One error as ``key: what is wrong, got VALUE``."""
    loc = tuple(error["loc"])
    where = path_text(to_file(loc) if to_file else loc)
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    got = f", got {_value(value)}" if _scalar(value) else ""
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        keys = allowed_keys(root, loc[:-1], to_file) if root is not None else None
        allowed = f" (allowed: {', '.join(keys)})" if keys else ""
        return f"{where}: unknown setting{allowed}"
    if kind in _BOUNDS:
        sign, key = _BOUNDS[kind]
        bound = ctx.get(key)
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return f"{where}: must be {sign} {bound}{got}"
    if kind == "literal_error":
        return f"{where}: must be {ctx.get('expected')}{got}"
    if kind in ("too_short", "string_too_short"):
        least = ctx.get("min_length", 1)
        if kind == "string_too_short":
            return f"{where}: must not be empty" if least == 1 else f"{where}: too short{got}"
        return f"{where}: must list at least {least}"
    if kind == "value_error":
        message = str(error["msg"]).removeprefix("Value error, ")
        return f"{where}: {message}{got}" if where else f"{message}{got}"
    if kind in _TYPES:
        return f"{where}: {_TYPES[kind]}" + ("" if kind.startswith("missing") else got)
    return f"{where}: {error['msg']}{got}"


def describe_errors(
    errors: Sequence[ErrorDetails], root: Any = None, to_file: Callable[[Loc], Loc] | None = None
) -> list[str]:
    """Every error, once; a list's "too short" is left out when its items had errors (it
    counts the items that survived)."""
    failed_items = {
        tuple(e["loc"][:i]) for e in errors for i, p in enumerate(e["loc"]) if isinstance(p, int)
    }
    lines: list[str] = []
    for error in errors:
        if error["type"] == "too_short" and tuple(error["loc"]) in failed_items:
            continue
        line = describe(error, root, to_file)
        if line not in lines:
            lines.append(line)
    return lines
