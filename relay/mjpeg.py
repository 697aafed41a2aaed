"""Incremental multipart/x-mixed-replace (MJPEG) parser: body bytes in, JPEG frames out.

No I/O. Feed it the decoded HTTP body (see ``relay.httpwire``) in any split; each
``feed`` returns the frames completed by those bytes. A frame leaves the parser in the
call that delivered its last byte: when the part has a Content-Length, as soon as that
many bytes arrived; otherwise at the JPEG's own EOI marker, found by walking the JPEG
segment structure (so EOI bytes inside an embedded EXIF thumbnail do not end the frame
early). The next boundary is never awaited, except as the last resort for a frame whose
markers are corrupt.

Accepted framings: the ESP32 CameraWebServer sketch (``\\r\\n--B\\r\\n``, part headers with
Content-Length and X-Timestamp, JPEG), older sketches (part headers and JPEG first,
boundary after), no boundary before the first frame, ``--B`` without a leading line
break, parts without headers or without Content-Length, an unknown boundary (learnt from
the first ``--xxxx`` line), and no boundary at all (concatenated JPEGs, found by their
SOI/EOI markers). Garbage between parts is skipped and counted, frames that are not
complete JPEGs are dropped and counted, and a frame larger than ``max_frame_size`` is
dropped without being buffered beyond the cap: memory stays within ``max_frame_size``
plus one ``feed`` worth of input plus ``MAX_PART_HEAD``, whatever the input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, auto
from typing import NamedTuple

SOI = b"\xff\xd8"
EOI = b"\xff\xd9"

MAX_PART_HEAD = 16 * 1024
"""Largest accepted block of part headers; a larger one is skipped as garbage."""

_WS = b" \t\r\n"
_PAD = b" \t\r\n\x00"  # what some servers leave after the EOI inside Content-Length
_LF = 0x0A
_DASH = 0x2D
_MAX_DELIM_PADDING = 128  # spaces or tabs tolerated after a boundary before its line break
_MAX_BOUNDARY_LINE = 128  # longest "--boundary" line that can teach an unknown boundary
_MAX_EXTRA_DASHES = 8  # dashes beyond "--" kept when a delimiter may be arriving
_HEADER_PEEK = 256  # bytes enough to tell whether a stream starts with a header line

_TOKEN_CHAR = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]"
_TOKEN_RE = re.compile(_TOKEN_CHAR + rb"+")
_HEADER_START_RE = re.compile(_TOKEN_CHAR + rb"+[ \t]*:")
_HEADER_PREFIX_RE = re.compile(_TOKEN_CHAR + rb"*[ \t]*")
# RFC 2046 boundary characters, less the space: a boundary learnt from the stream came
# from no header that could have quoted it, and a space would let a "-- note" line of
# preamble pass for a delimiter.
_BOUNDARY_LINE_RE = re.compile(rb"[0-9A-Za-z'()+_,\-./:=?]+[ \t]*\r?")
_BOUNDARY_PREFIX_RE = re.compile(rb"[0-9A-Za-z'()+_,\-./:=?]*[ \t]*\r?")
_TIMESTAMP_RE = re.compile(r"\d+(?:\.\d+)?")


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


@dataclass(frozen=True, slots=True)
class Part:
    """One JPEG frame and its part headers (names lower-cased; empty when there were none)."""

    data: bytes
    headers: dict[str, str]

    @property
    def timestamp(self) -> float | None:
        """The board's capture time from ``X-Timestamp: <sec>.<usec>``; None if absent or bad."""
        value = self.headers.get("x-timestamp")
        if value is None:
            return None
        value = value.strip()
        if not _TIMESTAMP_RE.fullmatch(value):
            return None
        return float(value)


@dataclass(slots=True)
class ParserStats:
    """Counters since the parser was created."""

    frames: int = 0
    dropped_invalid: int = 0  # parts that were not complete JPEGs (no SOI, no EOI, ...)
    dropped_oversize: int = 0  # parts larger than max_frame_size
    # Bytes skipped between parts; whitespace right before the next part is framing.
    garbage_bytes: int = 0


class _State(Enum):
    SEEK = auto()  # between parts: looking for a boundary (or, before any, a JPEG)
    HEADERS = auto()  # part headers
    BODY_LEN = auto()  # a body whose Content-Length is known
    BODY_EOI = auto()  # a body that ends at its EOI marker
    DISCARD = auto()  # dropping the rest of a bad or oversized part


# JPEG walker states: between segments, inside entropy-coded data, or lost (markers
# that make no sense: only a boundary, or a naive EOI search, can end the frame).
_W_MARKER = 0
_W_ENTROPY = 1
_W_LOST = 2

# Walker results.
_NEED = 0  # more bytes needed
_END = 1  # EOI found; position is the index just past it
_NEW_SOI = 2  # another image starts before this one ended; position is its SOI


class _Delim(NamedTuple):
    begin: int  # first dash of the delimiter
    hit: int  # where the search found it (resume point while the line is incomplete)
    end: int | None  # just past the delimiter line's line break; None until it arrived
    close: bool  # "--B--": the close delimiter
    learned: str | None  # the boundary taught by this line, when it was unknown


def _delimiter_line_end(buf: bytearray, j: int) -> tuple[int, bool]:
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


def _find_delimiter(buf: bytearray, start: int, pattern: bytes) -> _Delim | None:
    """The first ``--boundary`` line at or after ``start`` (complete or still arriving)."""
    i = start
    while True:
        hit = buf.find(pattern, i)
        if hit < 0:
            return None
        end, close = _delimiter_line_end(buf, hit + len(pattern))
        if end < 0:
            i = hit + 1
            continue
        begin = hit
        while begin > 0 and buf[begin - 1] == _DASH:
            begin -= 1  # "----B" for a boundary declared as "--B"
        return _Delim(begin, hit, end or None, close, None)


def _find_boundary_line(buf: bytearray, start: int) -> _Delim | None:
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
                return _Delim(hit, hit, None, False, None)
            continue
        if not _BOUNDARY_LINE_RE.fullmatch(buf, hit + 2, nl):
            continue
        boundary = bytes(buf[hit + 2 : nl]).rstrip(_WS)
        if not boundary.lstrip(b"-"):
            continue  # a line of dashes
        return _Delim(hit, hit, nl + 1, False, boundary.decode("latin-1"))


def _as_jpeg(data: bytes) -> bytes | None:
    """``data`` if it is a complete JPEG (SOI first, EOI last), minus trailing padding."""
    if not data.startswith(b"\xff\xd8\xff"):
        return None
    if data.endswith(EOI):
        return data
    trimmed = data.rstrip(_PAD)
    if len(trimmed) >= 5 and trimmed.endswith(EOI):
        return trimmed
    return None


def _parse_length(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() and value.isascii() else None


class MultipartParser:
    """Incremental multipart/x-mixed-replace parser; see the module docstring.

    ``boundary`` is the one from the response's Content-Type (None: learn it from the
    stream). ``feed(data)`` returns the frames completed by ``data``; ``stats`` counts
    frames and what was dropped.
    """

    def __init__(self, boundary: str | None = None, max_frame_size: int = 4 * 1024 * 1024) -> None:
        if max_frame_size < 16:
            raise ValueError("max_frame_size is too small for any JPEG")
        self.max_frame_size = max_frame_size
        self.stats = ParserStats()
        self._boundary: str | None = None
        self._pattern: bytes | None = None  # b"--" + boundary without its leading dashes
        if boundary is not None:
            self._set_boundary(boundary)
        self._buf = bytearray()
        self._state = _State.SEEK
        self._stream_start = True  # nothing but whitespace consumed so far
        self._delim_seen = False  # a delimiter was found in the stream
        self._scan = 0  # SEEK / DISCARD: where the next search starts
        self._pending_ws = 0  # skipped whitespace not yet known to be garbage
        # HEADERS
        self._hpos = 0
        self._headers: dict[str, str] = {}
        self._last_header: str | None = None
        # BODY_LEN
        self._need = 0
        # BODY_EOI
        self._body_checked = False
        self._wpos = 0
        self._wstate = _W_MARKER
        self._bscan = 0
        # DISCARD
        self._discard_left: int | None = None

    @property
    def boundary(self) -> str | None:
        """The boundary in use: given, or learnt from the stream; None while unknown."""
        return self._boundary

    @property
    def buffered(self) -> int:
        """Bytes held in the parser's buffer (bounded; see the module docstring)."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Part]:
        """Consume ``data``; return the frames whose last byte it contained, in order."""
        if data:
            self._buf += data
        out: list[Part] = []
        while self._step(out):
            pass
        return out

    def _set_boundary(self, boundary: str) -> None:
        core = boundary.strip().lstrip("-")
        if not core:
            return
        try:
            raw = core.encode("latin-1")  # header values were decoded as latin-1
        except UnicodeEncodeError:
            raw = core.encode("utf-8")
        self._boundary = boundary
        self._pattern = b"--" + raw

    def _step(self, out: list[Part]) -> bool:
        state = self._state
        if state is _State.BODY_LEN:
            return self._body_len(out)
        if state is _State.BODY_EOI:
            return self._body_eoi(out)
        if state is _State.SEEK:
            return self._seek()
        if state is _State.HEADERS:
            return self._read_headers()
        return self._discard()

    # -- between parts -------------------------------------------------------------------

    def _skip(self, n: int) -> None:
        """Drop ``n`` bytes between parts, counting them as garbage except for whitespace
        that turns out to precede the next part."""
        if n <= 0:
            return
        buf = self._buf
        body = len(buf[:n].rstrip(_WS))
        if body:
            self.stats.garbage_bytes += self._pending_ws + body
            self._pending_ws = n - body
        else:
            self._pending_ws += n
        del buf[:n]

    def _part_found(self, at: int) -> None:
        self._skip(at)
        self._pending_ws = 0  # whitespace before a part is framing, not garbage
        self._scan = 0

    def _seek(self) -> bool:
        buf = self._buf
        if self._stream_start:
            i = 0
            while i < len(buf) and buf[i] in _WS:
                i += 1
            del buf[:i]  # leading whitespace is not garbage
            if not buf:
                return False
            if _HEADER_START_RE.match(buf):
                # Part headers straight away: older sketches send no boundary first.
                self._stream_start = False
                self._begin_headers()
                return True
            m = _HEADER_PREFIX_RE.match(buf)
            if m is not None and m.end() == len(buf) and len(buf) < _HEADER_PEEK:
                return False  # could still become a header line
            self._stream_start = False
        delim: _Delim | None
        if self._pattern is not None:
            delim = _find_delimiter(buf, self._scan, self._pattern)
        else:
            delim = _find_boundary_line(buf, self._scan)
        # Until a boundary has shown up, a JPEG may come without one.
        soi = -1 if self._delim_seen else buf.find(SOI, self._scan)
        if delim is not None and (soi < 0 or delim.begin <= soi):
            if delim.end is None:
                self._skip(delim.begin)
                self._scan = delim.hit - delim.begin
                return False  # the delimiter line is still arriving
            self._part_found(delim.begin)
            del buf[: delim.end - delim.begin]
            if delim.learned is not None:
                self._set_boundary(delim.learned)
            self._delim_seen = True
            if not delim.close:
                self._begin_headers()
            return True
        if soi >= 0:
            self._part_found(soi)
            self._begin_body({})
            return True
        # Nothing yet: keep only a tail that may hold the start of a delimiter or an SOI
        # (with any extra leading dashes, so they are not miscounted as garbage).
        cut = len(buf) - (len(self._pattern) - 1 if self._pattern is not None else 2)
        floor = cut - _MAX_EXTRA_DASHES
        while cut > 0 and cut > floor and buf[cut - 1] == _DASH:
            cut -= 1
        self._skip(cut)
        self._scan = 0
        return False

    def _discard(self) -> bool:
        """Drop the rest of a bad part: up to the next delimiter, or ``_discard_left`` bytes."""
        buf = self._buf
        left = self._discard_left
        pattern = self._pattern
        if pattern is None or (left is None and not self._delim_seen):
            # No boundary to resync on: drop what is known to belong to the part, then
            # look for the next JPEG.
            if left is not None:
                take = min(left, len(buf))
                del buf[:take]
                self._discard_left = left = left - take
                if left:
                    return False
            self._to_seek()
            return True
        # Watch for the delimiter even when the length is known: a lying Content-Length
        # must not swallow the stream.
        delim = _find_delimiter(buf, self._scan, pattern)
        if delim is not None and (left is None or delim.begin <= left):
            del buf[: delim.begin]
            self._to_seek()
            return True
        if left is not None and len(buf) >= left:
            del buf[:left]
            self._to_seek()
            return True
        # No delimiter here (a partial one would have been returned above): keep a tail
        # that may hold the start of one.
        cut = max(0, len(buf) - (len(pattern) - 1))
        del buf[:cut]
        if left is not None:
            self._discard_left = left - cut
        self._scan = 0
        return False

    def _to_seek(self) -> None:
        self._state = _State.SEEK
        self._scan = 0

    def _begin_discard(self, left: int | None) -> None:
        self._state = _State.DISCARD
        self._discard_left = left
        self._scan = 0

    # -- part headers --------------------------------------------------------------------

    def _begin_headers(self) -> None:
        self._state = _State.HEADERS
        self._hpos = 0
        self._headers = {}
        self._last_header = None

    def _read_headers(self) -> bool:
        buf = self._buf
        if self._hpos == 0:
            if len(buf) < 2:
                return False
            if buf.startswith(SOI):
                self._begin_body({})  # a JPEG right after the boundary, no headers
                return True
        while True:
            nl = buf.find(b"\n", self._hpos)
            if nl < 0 or nl >= MAX_PART_HEAD:
                if nl < 0 and len(buf) <= MAX_PART_HEAD:
                    return False
                self._abort_headers()  # too long: not part headers
                return True
            line = bytes(buf[self._hpos : nl])
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                del buf[: nl + 1]
                self._begin_part_body()
                return True
            if line[:1] in (b" ", b"\t") and self._last_header is not None:
                folded = line.strip().decode("latin-1")
                self._headers[self._last_header] += " " + folded
            else:
                name, sep, value = line.partition(b":")
                name = name.rstrip(b" \t")
                if not sep or not _TOKEN_RE.fullmatch(name):
                    self._abort_headers()
                    return True
                key = name.decode("latin-1").lower()
                text = value.strip().decode("latin-1")
                headers = self._headers
                headers[key] = f"{headers[key]}, {text}" if key in headers else text
                self._last_header = key
            self._hpos = nl + 1

    def _abort_headers(self) -> None:
        """Not a header block after all: skip the lines read so far and resync."""
        self._skip(self._hpos)
        self._to_seek()

    def _begin_part_body(self) -> None:
        length = _parse_length(self._headers.get("content-length"))
        if length is None:
            self._begin_body(self._headers)
        elif length > self.max_frame_size:
            self.stats.dropped_oversize += 1
            self._begin_discard(length)
        else:
            self._state = _State.BODY_LEN
            self._need = length

    # -- bodies --------------------------------------------------------------------------

    def _emit(self, out: list[Part], data: bytes) -> None:
        self.stats.frames += 1
        out.append(Part(data, self._headers))
        self._to_seek()

    def _body_len(self, out: list[Part]) -> bool:
        buf = self._buf
        n = self._need
        if len(buf) < n:
            return False
        frame = _as_jpeg(bytes(buf[:n]))
        if frame is not None:
            del buf[:n]
            self._emit(out, frame)
            return True
        # The Content-Length disagrees with the JPEG (wrong length, or truncated image):
        # let the JPEG markers, or the next boundary, decide where the part ends.
        self._begin_body(self._headers)
        return True

    def _begin_body(self, headers: dict[str, str]) -> None:
        self._state = _State.BODY_EOI
        self._headers = headers
        self._body_checked = False
        self._wpos = 0
        self._wstate = _W_MARKER
        self._bscan = 0

    def _body_eoi(self, out: list[Part]) -> bool:
        buf = self._buf
        if not self._body_checked:
            i = 0
            while i < len(buf) and buf[i] in _WS:
                i += 1
            del buf[:i]  # a stray line break between headers and JPEG
            if len(buf) < 2:
                return False
            if not buf.startswith(SOI):
                self.stats.dropped_invalid += 1
                self._begin_discard(None)
                return True
            self._body_checked = True
        limit = len(buf)
        delim: _Delim | None = None
        pattern = self._pattern
        if pattern is not None:
            delim = _find_delimiter(buf, self._bscan, pattern)
            if delim is None:
                self._bscan = max(0, len(buf) - len(pattern) + 1)
            else:
                limit = delim.begin
                self._bscan = delim.hit
        event, pos = self._walk(buf, limit)
        if event == _END:
            frame = bytes(buf[:pos])
            del buf[:pos]
            if pos > self.max_frame_size:
                self.stats.dropped_oversize += 1
                self._to_seek()
            elif _as_jpeg(frame) is None:
                self.stats.dropped_invalid += 1
                self._to_seek()
            else:
                self._emit(out, frame)
            return True
        if event == _NEW_SOI:
            # This image never ended: truncated. The next one starts here.
            self.stats.dropped_invalid += 1
            del buf[:pos]
            self._begin_body({})
            return True
        if delim is not None and delim.end is not None:
            # The next part began before this one's EOI was found: the image is truncated
            # or its markers are corrupt. Accept it if it still ends like a JPEG.
            candidate = bytes(buf[: delim.begin])
            del buf[: delim.begin]
            jpeg = _as_jpeg(candidate)
            if len(candidate) > self.max_frame_size:
                self.stats.dropped_oversize += 1
                self._to_seek()
            elif jpeg is None:
                self.stats.dropped_invalid += 1
                self._to_seek()
            else:
                self._emit(out, jpeg)
            return True
        if limit > self.max_frame_size:
            self.stats.dropped_oversize += 1
            del buf[:limit]
            self._begin_discard(None)
            return True
        return False

    def _walk(self, buf: bytearray, limit: int) -> tuple[int, int]:
        """Follow the JPEG's segment structure from the saved position up to ``limit``.

        Segments before the scan carry their length, so their payload (an EXIF thumbnail
        with its own EOI, say) is skipped unread. In entropy-coded data a 0xFF byte is
        always followed by 0x00 (stuffing) or a restart marker, so the first other marker
        there is real: another segment (progressive JPEGs) or the EOI.
        """
        p = self._wpos
        st = self._wstate
        try:
            while True:
                if st == _W_ENTROPY:
                    q = buf.find(b"\xff", p, limit)
                    if q < 0:
                        p = max(p, limit)
                        return _NEED, 0
                    if q + 1 >= limit:
                        p = q
                        return _NEED, 0
                    m = buf[q + 1]
                    if m == 0x00 or 0xD0 <= m <= 0xD7:
                        p = q + 2
                    elif m == 0xFF:
                        p = q + 1  # fill byte before a marker
                    else:
                        p = q
                        st = _W_MARKER
                elif st == _W_MARKER:
                    if p + 2 > limit:
                        return _NEED, 0
                    if buf[p] != 0xFF:
                        st = _W_LOST
                        continue
                    m = buf[p + 1]
                    if m == 0xFF:
                        p += 1
                    elif m == 0xD8:
                        if p != 0:
                            return _NEW_SOI, p
                        p = 2
                    elif m == 0xD9:
                        return _END, p + 2
                    elif m == 0x01 or 0xD0 <= m <= 0xD7:
                        p += 2  # markers without a length
                    elif m == 0x00:
                        st = _W_LOST
                    else:
                        if p + 4 > limit:
                            return _NEED, 0
                        length = (buf[p + 2] << 8) | buf[p + 3]
                        if length < 2:
                            st = _W_LOST
                            continue
                        p += 2 + length
                        if m == 0xDA:
                            st = _W_ENTROPY  # start of scan: entropy-coded data follows
                else:
                    if self._pattern is not None and self._delim_seen:
                        p = max(p, limit)
                        return _NEED, 0  # the next boundary will end this part
                    # No boundary to rely on: take the next EOI (or SOI) at face value.
                    q = buf.find(b"\xff", p, limit)
                    if q < 0:
                        p = max(p, limit)
                        return _NEED, 0
                    if q + 1 >= limit:
                        p = q
                        return _NEED, 0
                    m = buf[q + 1]
                    if m == 0xD9:
                        return _END, q + 2
                    if m == 0xD8:
                        return _NEW_SOI, q
                    p = q + 1
        finally:
            self._wpos = p
            self._wstate = st
