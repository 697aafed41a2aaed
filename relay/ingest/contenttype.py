"""The boundary of a ``multipart/x-mixed-replace`` response, from its Content-Type header."""

from __future__ import annotations


def boundary_from_content_type(value: str) -> str | None:
    """The ``boundary`` parameter of a Content-Type value, unquoted; None when absent.

    ``multipart/x-mixed-replace;boundary=X`` with any spacing, other parameters, and
    quoted values (``boundary="a b;c"``) are understood. A boundary that itself starts
    with ``--`` is returned as declared; the parser accepts it on the wire both with and
    without the extra dashes, since servers disagree about them.
    """
    for name, param in _content_type_params(value):
        if name == "boundary":
            return param or None
    return None


def _content_type_params(value: str) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    i = value.find(";")
    if i < 0:
        return params
    n = len(value)
    while i < n:
        while i < n and value[i] in " \t;":
            i += 1
        start = i
        while i < n and value[i] not in "=;":
            i += 1
        name = value[start:i].strip().lower()
        if i >= n or value[i] == ";":
            continue  # a parameter without a value
        i += 1  # '='
        while i < n and value[i] in " \t":
            i += 1
        if i < n and value[i] == '"':
            i += 1
            chars: list[str] = []
            while i < n and value[i] != '"':
                if value[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(value[i])
                i += 1
            i += 1  # closing quote
            param = "".join(chars)
            while i < n and value[i] != ";":
                i += 1  # anything between the closing quote and the next ';' is junk
        else:
            start = i
            while i < n and value[i] != ";":
                i += 1
            param = value[start:i].strip()
        if name:
            params.append((name, param))
    return params
