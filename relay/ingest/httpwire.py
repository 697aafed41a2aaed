"""Incremental reader for the HTTP/1.x response an MJPEG camera sends (no I/O).

ESP32 boards are loose HTTP servers: some builds answer with no status line (headers
straight away), some with no head at all (body straight away), and the stock stream
uses chunked transfer encoding. ``ResponseReader`` takes raw socket bytes in any
split and hands back the decoded body bytes, so the multipart parser never sees
transfer encoding. Anything it cannot make sense of raises ``WireError``: the caller
drops the connection and reconnects.
"""

from __future__ import annotations

import re
from enum import Enum, auto

MAX_HEAD = 16 * 1024
"""Largest accepted response head (status line plus headers), and trailer block."""

MAX_CHUNK_LINE = 64
"""Longest accepted chunk-size line, extensions included, line break excluded."""

_TOKEN_CHAR = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]"
_TOKEN = _TOKEN_CHAR + rb"+"
_TOKEN_RE = re.compile(_TOKEN)
_STATUS_RE = re.compile(rb"HTTP/(\d+)(?:\.(\d+))?[ \t]+(\d{3})(?:[ \t]+(.*))?[ \t]*", re.I)
_HEADER_LINE_RE = re.compile(_TOKEN + rb"[ \t]*:")
_CHUNK_LINE_RE = re.compile(rb"([0-9A-Fa-f]+)[ \t]*(?:;[^\r\n]*)?")
# What the start of a header line or a chunk-size line can look like before its line
# break arrives; anything else is body.
_LINE_PREFIX_RE = re.compile(_TOKEN_CHAR + rb"*[ \t]*(?:[:;][^\r\n]*)?\r?")
_CHUNK_PREFIX_RE = re.compile(rb"[0-9A-Fa-f]*[ \t]*(?:;[^\r\n]*)?\r?")
# Bodies that boards send with no head at all: a multipart delimiter or a bare JPEG.
_BODY_STARTS = (b"--", b"\r\n--", b"\n--", b"\xff\xd8", b"\r\n\xff\xd8", b"\n\xff\xd8")


class WireError(ValueError):
    """The response is not parseable HTTP; the connection should be dropped."""


class _State(Enum):
    DETECT = auto()  # nothing parsed yet: status line, headers or body?
    HEAD = auto()  # status line and/or header lines
    CHUNK_SIZE = auto()
    CHUNK_DATA = auto()
    CHUNK_CRLF = auto()
    TRAILERS = auto()
    LENGTH = auto()  # Content-Length body
    PLAIN = auto()  # body until the connection closes
    DONE = auto()


def _strip_cr(line: bytes) -> bytes:
    return line[:-1] if line.endswith(b"\r") else line


class ResponseReader:
    """Parses one HTTP/1.x response fed as raw bytes; ``feed`` returns decoded body bytes.

    Once ``head_complete``: ``status`` (None when the board sent no status line),
    ``reason``, ``headers`` (lower-cased names, repeated headers joined with ", ").
    ``chunked`` is settled when the first body bytes arrive (a response with no headers
    may still turn out chunked). ``ended`` turns true once the body is complete (the
    zero-size chunk and its trailers, or Content-Length bytes); later bytes are ignored.
    """

    def __init__(self) -> None:
        self.status: int | None = None
        self.reason: str = ""
        self.headers: dict[str, str] = {}
        self.trailers: dict[str, str] = {}
        self.head_complete = False
        self.chunked = False
        self.ended = False
        self._buf = bytearray()
        self._state = _State.DETECT
        self._expect_status = False
        self._sniff_only = False  # an empty head was seen: only the body remains to classify
        self._line_start = 0  # HEAD / TRAILERS: offset of the next unparsed line
        self._last_name: str | None = None  # for obsolete header line folding
        self._remaining = 0  # bytes left in the current chunk or Content-Length body
        self._error: WireError | None = None

    def feed(self, data: bytes) -> bytes:
        """Consume ``data``; return the body bytes decoded from it (possibly b"")."""
        if self._error is not None:
            raise self._error
        if self._state is _State.DONE:
            return b""
        if self._state is _State.PLAIN and not self._buf:
            return bytes(data)  # the common case for plain streams: no copy into the buffer
        self._buf += data
        out: list[bytes] = []
        try:
            while self._step(out):
                pass
        except WireError as exc:
            self._error = exc
            self._buf.clear()
            raise
        return b"".join(out)

    # -- state machine -------------------------------------------------------------------

    def _step(self, out: list[bytes]) -> bool:
        """Advance by one unit of work; False when more input is needed."""
        state = self._state
        if state is _State.CHUNK_DATA or state is _State.LENGTH:
            return self._take_counted(out)
        if state is _State.CHUNK_SIZE:
            return self._chunk_size()
        if state is _State.CHUNK_CRLF:
            return self._chunk_crlf()
        if state is _State.PLAIN:
            if self._buf:
                out.append(bytes(self._buf))
                self._buf.clear()
            return False
        if state is _State.DETECT:
            return self._detect()
        if state is _State.HEAD:
            return self._head()
        if state is _State.TRAILERS:
            return self._trailers()
        self._buf.clear()  # DONE
        return False

    def _detect(self) -> bool:
        buf = self._buf
        if not buf:
            return False
        if not self._sniff_only:
            prefix = bytes(buf[:5]).upper()
            if b"HTTP/".startswith(prefix):
                if len(prefix) < 5:
                    return False
                self._state = _State.HEAD
                self._expect_status = True
                return True
        for start in _BODY_STARTS:
            if buf.startswith(start):
                self._begin_body(plain=True)
                return True
        if any(start.startswith(buf) for start in _BODY_STARTS):
            return False  # too few bytes to tell
        nl = buf.find(b"\n")
        if nl < 0:
            if len(buf) > MAX_HEAD:
                raise WireError(f"no line break in the first {MAX_HEAD} bytes of the response")
            if self._sniff_only:
                maybe_line = (
                    len(buf) <= MAX_CHUNK_LINE + 1 and _CHUNK_PREFIX_RE.fullmatch(buf) is not None
                )
            else:
                maybe_line = _LINE_PREFIX_RE.fullmatch(buf) is not None
            if not maybe_line:
                self._begin_body(plain=True)  # cannot be a head or chunk-size line: body
                return True
            return False
        line = _strip_cr(bytes(buf[:nl]))
        if not line:
            # An empty head: the body follows the blank line.
            del buf[: nl + 1]
            self.head_complete = True
            self._sniff_only = True
            return True
        if len(line) <= MAX_CHUNK_LINE and _CHUNK_LINE_RE.fullmatch(line):
            self._begin_body(chunked=True)  # chunked body with no head
        elif not self._sniff_only and _HEADER_LINE_RE.match(line):
            self._state = _State.HEAD  # headers with no status line
        else:
            self._begin_body(plain=True)
        return True

    def _take_line(self, what: str) -> bytes | None:
        """The next complete line of a head or trailer block (CR stripped), or None."""
        buf = self._buf
        nl = buf.find(b"\n", self._line_start)
        if (nl < 0 and len(buf) > MAX_HEAD) or nl + 1 > MAX_HEAD:
            raise WireError(f"{what} larger than {MAX_HEAD} bytes")
        if nl < 0:
            return None
        line = _strip_cr(bytes(buf[self._line_start : nl]))
        self._line_start = nl + 1
        return line

    def _head(self) -> bool:
        while True:
            line = self._take_line("response head")
            if line is None:
                return False
            if self._expect_status:
                self._expect_status = False
                m = _STATUS_RE.fullmatch(line)
                if m is None:
                    raise WireError(f"malformed status line: {line[:80]!r}")
                self.status = int(m[3])
                self.reason = (m[4] or b"").decode("latin-1").strip()
                continue
            if line:
                self._add_field(self.headers, line)
                continue
            del self._buf[: self._line_start]
            self._line_start = 0
            self._last_name = None
            self._finish_head()
            return True

    def _finish_head(self) -> None:
        status = self.status
        if status is not None and 100 <= status < 200 and status != 101:
            # Interim response (100 Continue, 103 Early Hints): the real one follows.
            self.status = None
            self.reason = ""
            self.headers = {}
            self._state = _State.DETECT
            return
        headers = self.headers
        codings = [c.strip().lower() for c in headers.get("transfer-encoding", "").split(",")]
        if codings[-1] == "chunked":
            self._begin_body(chunked=True)
        elif "content-length" in headers:
            value = headers["content-length"].strip()
            # Repeated identical values ("5, 5") are tolerated, as most clients do.
            values = {v.strip() for v in value.split(",")}
            if len(values) != 1 or not value or not next(iter(values)).isdigit():
                raise WireError(f"malformed Content-Length: {value[:40]!r}")
            self._remaining = int(next(iter(values)))
            self._begin_body()
            self._state = _State.LENGTH
            if self._remaining == 0:
                self._end()
        elif not headers:
            # No headers at all: the body may still be chunked; look at its first line.
            self.head_complete = True
            self._sniff_only = True
            self._state = _State.DETECT
        else:
            self._begin_body(plain=True)

    def _begin_body(self, *, chunked: bool = False, plain: bool = False) -> None:
        self.head_complete = True
        self.chunked = chunked
        if chunked:
            self._state = _State.CHUNK_SIZE
        elif plain:
            self._state = _State.PLAIN

    def _end(self) -> None:
        self.ended = True
        self._state = _State.DONE
        self._buf.clear()

    def _add_field(self, target: dict[str, str], line: bytes) -> None:
        if line[:1] in (b" ", b"\t"):
            # Obsolete line folding: a continuation of the previous field.
            if self._last_name is None:
                raise WireError(f"malformed header line: {line[:80]!r}")
            target[self._last_name] += " " + line.strip().decode("latin-1")
            return
        name, sep, value = line.partition(b":")
        name = name.rstrip(b" \t")
        if not sep or not _TOKEN_RE.fullmatch(name):
            raise WireError(f"malformed header line: {line[:80]!r}")
        key = name.decode("latin-1").lower()
        text = value.strip(b" \t").decode("latin-1")
        target[key] = f"{target[key]}, {text}" if key in target else text
        self._last_name = key

    # -- bodies --------------------------------------------------------------------------

    def _take_counted(self, out: list[bytes]) -> bool:
        buf = self._buf
        take = min(self._remaining, len(buf))
        if take == 0:
            return False
        out.append(bytes(buf[:take]))
        del buf[:take]
        self._remaining -= take
        if self._remaining == 0:
            if self._state is _State.LENGTH:
                self._end()
            else:
                self._state = _State.CHUNK_CRLF
        return True

    def _chunk_size(self) -> bool:
        buf = self._buf
        nl = buf.find(b"\n")
        if nl < 0:
            # 64 bytes of line plus a CR may still be waiting for the LF.
            if len(buf) > MAX_CHUNK_LINE + 1:
                raise WireError(f"chunk size line longer than {MAX_CHUNK_LINE} bytes")
            return False
        line = _strip_cr(bytes(buf[:nl]))
        if len(line) > MAX_CHUNK_LINE:
            raise WireError(f"chunk size line longer than {MAX_CHUNK_LINE} bytes")
        m = _CHUNK_LINE_RE.fullmatch(line)
        if m is None:
            raise WireError(f"malformed chunk size line: {line!r}")
        del buf[: nl + 1]
        size = int(m[1], 16)
        if size == 0:
            self._state = _State.TRAILERS
            self._line_start = 0
            self._last_name = None
        else:
            self._remaining = size
            self._state = _State.CHUNK_DATA
        return True

    def _chunk_crlf(self) -> bool:
        buf = self._buf
        if buf.startswith(b"\r\n"):
            del buf[:2]
        elif buf.startswith(b"\n"):
            del buf[:1]
        elif not buf or buf == b"\r":
            return False
        else:
            raise WireError(f"chunk data not followed by CRLF: {bytes(buf[:16])!r}")
        self._state = _State.CHUNK_SIZE
        return True

    def _trailers(self) -> bool:
        while True:
            line = self._take_line("chunked trailers")
            if line is None:
                return False
            if not line:
                self._end()
                return False
            self._add_field(self.trailers, line)
