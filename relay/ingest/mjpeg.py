"""Incremental multipart/x-mixed-replace (MJPEG) parser: body bytes in, JPEG frames out.

No I/O. Feed it the decoded HTTP body (see :mod:`relay.ingest.httpwire`) in any split; each
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
from enum import Enum, auto

from .contenttype import boundary_from_content_type
from .delimiter import Delimiter, find_boundary_line, find_delimiter
from .jpegwalk import END, NEW_SOI, SOI, JpegWalker, as_jpeg
from .part import ParserStats, Part, parse_length

__all__ = ["MAX_PART_HEAD", "MultipartParser", "ParserStats", "Part", "boundary_from_content_type"]

MAX_PART_HEAD = 16 * 1024
"""Largest accepted block of part headers; a larger one is skipped as garbage."""

_WS = b" \t\r\n"
_DASH = 0x2D
_MAX_EXTRA_DASHES = 8  # dashes beyond "--" kept when a delimiter may be arriving
_HEADER_PEEK = 256  # bytes enough to tell whether a stream starts with a header line

_TOKEN_CHAR = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]"
_TOKEN_RE = re.compile(_TOKEN_CHAR + rb"+")
_HEADER_START_RE = re.compile(_TOKEN_CHAR + rb"+[ \t]*:")
_HEADER_PREFIX_RE = re.compile(_TOKEN_CHAR + rb"*[ \t]*")


class _State(Enum):
    SEEK = auto()  # between parts: looking for a boundary (or, before any, a JPEG)
    HEADERS = auto()  # part headers
    BODY_LEN = auto()  # a body whose Content-Length is known
    BODY_EOI = auto()  # a body that ends at its EOI marker
    DISCARD = auto()  # dropping the rest of a bad or oversized part


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
        self._walker = JpegWalker()
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
        delim: Delimiter | None
        if self._pattern is not None:
            delim = find_delimiter(buf, self._scan, self._pattern)
        else:
            delim = find_boundary_line(buf, self._scan)
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
        delim = find_delimiter(buf, self._scan, pattern)
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
        length = parse_length(self._headers.get("content-length"))
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
        frame = as_jpeg(bytes(buf[:n]))
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
        self._walker.reset()
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
        delim: Delimiter | None = None
        pattern = self._pattern
        if pattern is not None:
            delim = find_delimiter(buf, self._bscan, pattern)
            if delim is None:
                self._bscan = max(0, len(buf) - len(pattern) + 1)
            else:
                limit = delim.begin
                self._bscan = delim.hit
        bounded = self._pattern is not None and self._delim_seen
        event, pos = self._walker.walk(buf, limit, bounded)
        if event == END:
            frame = bytes(buf[:pos])
            del buf[:pos]
            if pos > self.max_frame_size:
                self.stats.dropped_oversize += 1
                self._to_seek()
            elif as_jpeg(frame) is None:
                self.stats.dropped_invalid += 1
                self._to_seek()
            else:
                self._emit(out, frame)
            return True
        if event == NEW_SOI:
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
            jpeg = as_jpeg(candidate)
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
