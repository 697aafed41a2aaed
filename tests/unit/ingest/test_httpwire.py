"""ResponseReader: HTTP/1.x responses as ESP32 boards really send them, in any split."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay.ingest.httpwire import MAX_CHUNK_LINE, MAX_HEAD, ResponseReader, WireError

BOUNDARY = "123456789000000000000987654321"
STOCK_HEAD = (
    "HTTP/1.1 200 OK\r\n"
    f"Content-Type: multipart/x-mixed-replace;boundary={BOUNDARY}\r\n"
    "Transfer-Encoding: chunked\r\n"
    "Access-Control-Allow-Origin: *\r\n"
    "X-Framerate: 60\r\n"
    "\r\n"
).encode()
PIECES = [
    f"\r\n--{BOUNDARY}\r\n".encode(),
    b"Content-Type: image/jpeg\r\nContent-Length: 6\r\nX-Timestamp: 12.000345\r\n\r\n",
    b"\xff\xd8\xff\x00\xff\xd9",
    f"\r\n--{BOUNDARY}\r\n".encode(),
]
BODY = b"".join(PIECES)


def chunked(pieces: list[bytes], *, end: bool = False) -> bytes:
    """Chunked encoding as ESP-IDF's httpd_resp_send_chunk writes it (lower-case hex)."""
    out = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in pieces)
    return out + (b"0\r\n\r\n" if end else b"")


def feed_all(wire: bytes, cuts: list[int]) -> tuple[ResponseReader, bytes]:
    reader = ResponseReader()
    bounds = [0, *sorted(cuts), len(wire)]
    body = b"".join(reader.feed(wire[a:b]) for a, b in zip(bounds, bounds[1:], strict=False))
    return reader, body


def test_stock_chunked_response() -> None:
    reader, body = feed_all(STOCK_HEAD + chunked(PIECES), [])
    assert reader.head_complete
    assert reader.status == 200
    assert reader.reason == "OK"
    assert reader.chunked
    assert not reader.ended
    assert reader.headers == {
        "content-type": f"multipart/x-mixed-replace;boundary={BOUNDARY}",
        "transfer-encoding": "chunked",
        "access-control-allow-origin": "*",
        "x-framerate": "60",
    }
    assert body == BODY


def test_stock_response_split_at_every_byte() -> None:
    wire = STOCK_HEAD + chunked(PIECES, end=True)
    for cut in range(1, len(wire)):
        reader, body = feed_all(wire, [cut])
        assert body == BODY, cut
        assert reader.status == 200 and reader.chunked and reader.ended, cut


def test_one_byte_at_a_time() -> None:
    wire = STOCK_HEAD + chunked(PIECES, end=True)
    reader, body = feed_all(wire, list(range(1, len(wire))))
    assert body == BODY
    assert reader.ended


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=400), max_size=30))
def test_any_chunking_gives_the_same_body(cuts: list[int]) -> None:
    wire = STOCK_HEAD + chunked(PIECES * 3, end=True)
    reader, body = feed_all(wire, [c % len(wire) for c in cuts])
    assert body == BODY * 3
    assert reader.ended and reader.status == 200


def test_head_is_visible_before_any_body() -> None:
    reader = ResponseReader()
    assert reader.feed(STOCK_HEAD[:-1]) == b""
    assert not reader.head_complete
    assert reader.feed(STOCK_HEAD[-1:]) == b""
    assert reader.head_complete and reader.status == 200 and reader.chunked


@pytest.mark.parametrize("status", [404, 500, 503])
def test_error_status_reported_right_after_head(status: int) -> None:
    reader = ResponseReader()
    head = f"HTTP/1.1 {status} Whatever Reason\r\nContent-Type: text/plain\r\n\r\n".encode()
    assert reader.feed(head) == b""
    assert reader.head_complete
    assert reader.status == status
    assert reader.reason == "Whatever Reason"
    assert reader.feed(b"not found") == b"not found"


def test_error_status_without_headers_reported_before_body() -> None:
    reader = ResponseReader()
    assert reader.feed(b"HTTP/1.1 500 Internal Server Error\r\n\r\n") == b""
    assert reader.head_complete and reader.status == 500
    assert reader.feed(b"oops") == b"oops"


def test_esp_idf_404_with_content_length() -> None:
    # httpd_resp_send_404 answers with a Content-Length body.
    reader = ResponseReader()
    body = reader.feed(
        b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\n"
        b"Not foundEXTRA"
    )
    assert reader.status == 404
    assert body == b"Not found"
    assert reader.ended
    assert reader.feed(b"more") == b""


def test_no_status_line_headers_straight_away() -> None:
    head = STOCK_HEAD.split(b"\r\n", 1)[1]
    for cut in range(1, len(head) + 10):
        reader, body = feed_all(head + chunked(PIECES), [cut])
        assert reader.status is None
        assert reader.head_complete and reader.chunked
        assert reader.headers["content-type"].endswith(BOUNDARY)
        assert body == BODY


def test_no_status_line_plain_body() -> None:
    wire = b"Content-Type: multipart/x-mixed-replace; boundary=frame\r\n\r\n--frame\r\nabc"
    reader, body = feed_all(wire, [3])
    assert reader.status is None and not reader.chunked
    assert body == b"--frame\r\nabc"


@pytest.mark.parametrize(
    "body",
    [
        b"\r\n--frame\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff",
        b"--frame\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff",
        b"\xff\xd8\xff\xe0\x00\x10JFIF",
        b"\n--frame\nContent-Type: image/jpeg\n\n",
    ],
)
def test_no_head_at_all_body_straight_away(body: bytes) -> None:
    for cut in range(1, len(body)):
        reader, got = feed_all(body, [cut])
        assert reader.head_complete
        assert reader.status is None
        assert reader.headers == {}
        assert not reader.chunked
        assert got == body, cut


def test_no_head_chunked_body() -> None:
    wire = chunked(PIECES)
    assert wire.startswith(b"24\r\n\r\n--")  # 36 bytes of boundary line
    for cut in range(1, len(wire)):
        reader, body = feed_all(wire, [cut])
        assert reader.status is None and reader.headers == {}
        assert reader.chunked, cut
        assert body == BODY, cut


def test_empty_head_then_chunked_body() -> None:
    reader, body = feed_all(b"\r\n" + chunked(PIECES, end=True), [1])
    assert reader.chunked and reader.ended and body == BODY


def test_status_line_without_headers_then_chunked_body() -> None:
    reader, body = feed_all(b"HTTP/1.0 200 OK\r\n\r\n" + chunked(PIECES), [])
    assert reader.status == 200 and reader.chunked
    assert body == BODY


def test_status_line_without_reason() -> None:
    reader, body = feed_all(b"HTTP/1.1 200\r\nX-A: b\r\n\r\nhello", [])
    assert reader.status == 200 and reader.reason == ""
    assert not reader.chunked and body == b"hello"


def test_binary_first_bytes_are_body() -> None:
    reader, body = feed_all(b"\x00\x01garbage\xff\r\nmore", [1])
    assert reader.head_complete and reader.status is None
    assert body == b"\x00\x01garbage\xff\r\nmore"


def test_bare_lf_line_endings() -> None:
    wire = b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n5\nhello\n0\n\n"
    reader, body = feed_all(wire, [])
    assert reader.status == 200 and body == b"hello" and reader.ended


def test_chunk_extensions_trailers_and_end() -> None:
    wire = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        b"5;name=value;flag\r\nhello\r\n"
        b'0000006 ; ext="quoted"\r\n world\r\n'
        b"A\r\n0123456789\r\n"
        b"0;last=1\r\nX-Checksum: abc\r\nX-Other:  2 \r\n\r\n"
        b"ignored after the end"
    )
    for cut in range(1, len(wire)):
        reader, body = feed_all(wire, [cut])
        assert body == b"hello world0123456789"
        assert reader.ended
        assert reader.trailers == {"x-checksum": "abc", "x-other": "2"}


def test_ended_only_after_terminating_chunk() -> None:
    reader = ResponseReader()
    reader.feed(STOCK_HEAD + chunked(PIECES))
    assert not reader.ended
    reader.feed(b"0\r\n")
    assert not reader.ended
    reader.feed(b"\r\n")
    assert reader.ended


def test_plain_body_never_ends() -> None:
    reader = ResponseReader()
    head = b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=x\r\n\r\n"
    assert reader.feed(head + b"abc") == b"abc"
    assert reader.feed(b"0\r\n\r\n") == b"0\r\n\r\n"
    assert not reader.chunked and not reader.ended


def test_repeated_headers_are_joined_and_names_lowered() -> None:
    reader, _ = feed_all(b"HTTP/1.1 200 OK\r\nX-A: 1\r\nx-a: 2\r\nX-B: a\r\n  folded\r\n\r\n", [])
    assert reader.headers == {"x-a": "1, 2", "x-b": "a folded"}


def test_interim_100_continue_is_skipped() -> None:
    wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    reader, body = feed_all(wire, [5])
    assert reader.status == 200 and body == b"ok" and reader.ended


def test_head_of_exactly_the_limit_is_accepted() -> None:
    start = b"HTTP/1.1 200 OK\r\nX-Pad: "
    pad = MAX_HEAD - len(start) - len(b"\r\n\r\n")
    head = start + b"a" * pad + b"\r\n\r\n"
    assert len(head) == MAX_HEAD
    reader, body = feed_all(head + b"body", [100])
    assert reader.status == 200 and body == b"body"


@pytest.mark.parametrize(
    "wire",
    [
        b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * MAX_HEAD + b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n" + b"X-Many: header\r\n" * 2000,
        b"X-No-Status: " + b"b" * (MAX_HEAD + 10),
    ],
)
def test_head_too_large_raises(wire: bytes) -> None:
    reader = ResponseReader()
    with pytest.raises(WireError, match="larger than|no line break"):
        for i in range(0, len(wire), 1000):
            reader.feed(wire[i : i + 1000])
    # The error is sticky: the connection is unusable.
    with pytest.raises(WireError):
        reader.feed(b"\r\n\r\n")


def test_wire_error_is_a_value_error() -> None:
    assert issubclass(WireError, ValueError)


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (b"1;" + b"e" * MAX_CHUNK_LINE + b"\r\nx\r\n", "longer than"),
        (b"1" + b"0" * (MAX_CHUNK_LINE + 5), "longer than"),
        (b"zz\r\nhello\r\n", "malformed chunk size"),
        (b"\r\nhello\r\n", "malformed chunk size"),
        (b"5\r\nhelloXX\r\n", "not followed by CRLF"),
        (b"0\r\nnot a trailer\r\n\r\n", "malformed header"),
    ],
)
def test_malformed_chunked_raises(wire: bytes, message: str) -> None:
    reader = ResponseReader()
    reader.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    with pytest.raises(WireError, match=message):
        reader.feed(wire)


def test_chunk_line_of_exactly_64_bytes_is_accepted() -> None:
    line = b"3;" + b"e" * (MAX_CHUNK_LINE - 2)
    assert len(line) == MAX_CHUNK_LINE
    reader = ResponseReader()
    reader.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert reader.feed(line + b"\r") == b""
    assert reader.feed(b"\nabc\r\n") == b"abc"


@pytest.mark.parametrize(
    "wire",
    [
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
    ],
)
def test_malformed_head_raises(wire: bytes) -> None:
    with pytest.raises(WireError):
        ResponseReader().feed(wire)
