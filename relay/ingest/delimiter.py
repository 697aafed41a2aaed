"""Finding multipart delimiters (``--boundary`` lines) in a buffer that is still arriving.

Pure functions over a ``bytearray``: they report a delimiter whose line is complete, one
that may still be arriving (``end`` None), or nothing. With the boundary unknown, a line
that looks like ``--boundary`` teaches it.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_WS = b" \t\r\n"
_LF = 0x0A
_DASH = 0x2D
_MAX_DELIM_PADDING = 128  # spaces or tabs tolerated after a boundary before its line break
_MAX_BOUNDARY_LINE = 128  # longest "--boundary" line that can teach an unknown boundary
# RFC 2046 boundary characters, less the space: a boundary learnt from the stream came
# from no header that could have quoted it, and a space would let a "-- note" line of
# preamble pass for a delimiter.
_BOUNDARY_LINE_RE = re.compile(rb"[0-9A-Za-z'()+_,\-./:=?]+[ \t]*\r?")
_BOUNDARY_PREFIX_RE = re.compile(rb"[0-9A-Za-z'()+_,\-./:=?]*[ \t]*\r?")


class Delimiter(NamedTuple):
    """A ``--boundary`` line found in the buffer."""

    begin: int  # first dash of the delimiter
    hit: int  # where the search found it (resume point while the line is incomplete)
    end: int | None  # just past the delimiter line's line break; None until it arrived
    close: bool  # "--B--": the close delimiter
    learned: str | None  # the boundary taught by this line, when it was unknown


def delimiter_line_end(buf: bytearray, j: int) -> tuple[int, bool]:
    """Check what follows ``--boundary`` at ``j``.

    Returns (end, close): ``end`` is just past the line break, 0 when more bytes are
    needed, -1 when this is no delimiter (the boundary is a prefix of something longer);
    ``close`` tells a close delimiter ``--B--``.
    """
    n = len(buf)
    close = False
    if j < n and buf[j] == _DASH:
        if j + 1 >= n:
            return 0, False
        if buf[j + 1] != _DASH:
            return -1, False
        close = True
        j += 2
    k = j
    while k < n and buf[k] in b" \t":
        k += 1
    if k - j > _MAX_DELIM_PADDING:
        return -1, False
    if k >= n:
        return 0, False
    if buf[k] == _LF:
        return k + 1, close
    if buf[k] == 0x0D:
        if k + 1 >= n:
            return 0, False
        if buf[k + 1] == _LF:
            return k + 2, close
    return -1, False


def find_delimiter(buf: bytearray, start: int, pattern: bytes) -> Delimiter | None:
    """The first ``--boundary`` line at or after ``start`` (complete or still arriving)."""
    i = start
    while True:
        hit = buf.find(pattern, i)
        if hit < 0:
            return None
        end, close = delimiter_line_end(buf, hit + len(pattern))
        if end < 0:
            i = hit + 1
            continue
        begin = hit
        while begin > 0 and buf[begin - 1] == _DASH:
            begin -= 1  # "----B" for a boundary declared as "--B"
        return Delimiter(begin, hit, end or None, close, None)


def find_boundary_line(buf: bytearray, start: int) -> Delimiter | None:
    """The first line that looks like ``--boundary`` at or after ``start`` (boundary unknown)."""
    i = start
    while True:
        hit = buf.find(b"--", i)
        if hit < 0:
            return None
        i = hit + 1
        if hit > 0 and buf[hit - 1] != _LF:
            continue  # delimiters start a line
        nl = buf.find(b"\n", hit, hit + _MAX_BOUNDARY_LINE)
        if nl < 0:
            if len(buf) - hit >= _MAX_BOUNDARY_LINE:
                continue
            if _BOUNDARY_PREFIX_RE.fullmatch(buf, hit + 2):
                return Delimiter(hit, hit, None, False, None)
            continue
        if not _BOUNDARY_LINE_RE.fullmatch(buf, hit + 2, nl):
            continue
        boundary = bytes(buf[hit + 2 : nl]).rstrip(_WS)
        if not boundary.lstrip(b"-"):
            continue  # a line of dashes
        return Delimiter(hit, hit, nl + 1, False, boundary.decode("latin-1"))
