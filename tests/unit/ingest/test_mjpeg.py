"""MultipartParser: every framing MJPEG servers use, in every split, with faults.

Streams are built here byte for byte as the ESP32 CameraWebServer sketch writes them
(shared/ESP32_PROTOCOL.md), around real JPEGs made by OpenCV.
"""

from __future__ import annotations

import functools
import random
import time

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relay.ingest.contenttype import boundary_from_content_type
from relay.ingest.httpwire import ResponseReader
from relay.ingest.mjpeg import MAX_PART_HEAD, MultipartParser, ParserStats, Part

BOUNDARY = "123456789000000000000987654321"


STOCK_HEAD = (
    "HTTP/1.1 200 OK\r\n"
    f"Content-Type: multipart/x-mixed-replace;boundary={BOUNDARY}\r\n"
    "Transfer-Encoding: chunked\r\n"
    "Access-Control-Allow-Origin: *\r\n"
    "X-Framerate: 60\r\n"
    "\r\n"
).encode()


def make_jpeg(width: int, height: int, seed: int, quality: int = 80) -> bytes:
    """A real JPEG: a gradient with noise, so the entropy data has 0xFF stuffing."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    img = np.clip(ramp + rng.normal(0, 60, (height, width, 3)), 0, 255).astype(np.uint8)
    ok, enc = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return enc.tobytes()


@functools.cache
def small_jpegs() -> tuple[bytes, ...]:
    return tuple(make_jpeg(32, 24, seed) for seed in range(3))


def with_exif_thumbnail(jpeg: bytes, thumbnail: bytes) -> bytes:
    """``jpeg`` with an APP1 (EXIF) segment holding ``thumbnail``, whose EOI comes early."""
    payload = b"Exif\x00\x00" + thumbnail
    app1 = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    return jpeg[:2] + app1 + jpeg[2:]


@functools.cache
def exif_jpegs() -> tuple[bytes, ...]:
    thumb = make_jpeg(8, 8, 99)
    frames = tuple(with_exif_thumbnail(j, thumb) for j in small_jpegs())
    for frame in frames:  # still a JPEG a decoder accepts
        assert cv2.imdecode(np.frombuffer(frame, np.uint8), cv2.IMREAD_COLOR) is not None
    return frames


@functools.cache
def entropy_filler(size: int, seed: int) -> bytes:
    """Bytes like JPEG entropy-coded data: random, 0xFF only as stuffed 0xFF 0x00."""
    rng = random.Random(seed)
    block = bytearray(rng.randrange(0, 0xFF) for _ in range(4096))
    for i in range(0, len(block) - 1, 200):
        block[i : i + 2] = b"\xff\x00"
    return bytes(block) * (size // len(block))


def timestamp(i: int) -> str:
    return f"{1700000000 + i}.{(i * 37_003) % 1_000_000:06d}"


def stock_pieces(frames: tuple[bytes, ...], boundary: str = BOUNDARY) -> list[bytes]:
    """The current sketch: one httpd_resp_send_chunk per boundary, part header and JPEG."""
    pieces: list[bytes] = []
    for i, jpeg in enumerate(frames):
        pieces.append(f"\r\n--{boundary}\r\n".encode())
        pieces.append(
            "Content-Type: image/jpeg\r\nContent-Length: "
            f"{len(jpeg)}\r\nX-Timestamp: {timestamp(i)}\r\n\r\n".encode()
        )
        pieces.append(jpeg)
    return pieces


def old_pieces(frames: tuple[bytes, ...], boundary: str = BOUNDARY) -> list[bytes]:
    """Older sketches: part header and JPEG first, boundary after, no X-Timestamp."""
    pieces: list[bytes] = []
    for jpeg in frames:
        pieces.append(f"Content-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode())
        pieces.append(jpeg)
        pieces.append(f"\r\n--{boundary}\r\n".encode())
    return pieces


def chunked(pieces: list[bytes]) -> bytes:
    return b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in pieces)


def stock_headers(i: int, jpeg: bytes) -> dict[str, str]:
    return {
        "content-type": "image/jpeg",
        "content-length": str(len(jpeg)),
        "x-timestamp": timestamp(i),
    }


def parse(
    data: bytes,
    cuts: list[int] | tuple[int, ...] = (),
    boundary: str | None = BOUNDARY,
    max_frame_size: int = 4 * 1024 * 1024,
) -> tuple[list[Part], MultipartParser]:
    parser = MultipartParser(boundary, max_frame_size=max_frame_size)
    bounds = [0, *sorted(cuts), len(data)]
    frames: list[Part] = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        frames += parser.feed(data[a:b])
    return frames, parser


def parse_wire(
    wire: bytes, cuts: list[int] | tuple[int, ...] = ()
) -> tuple[list[Part], ParserStats]:
    """Raw socket bytes through ResponseReader and MultipartParser, as the ingest does."""
    reader = ResponseReader()
    parser: MultipartParser | None = None
    frames: list[Part] = []
    bounds = [0, *sorted(cuts), len(wire)]
    for a, b in zip(bounds, bounds[1:], strict=False):
        body = reader.feed(wire[a:b])
        if parser is None and reader.head_complete:
            ctype = reader.headers.get("content-type", "")
            parser = MultipartParser(boundary_from_content_type(ctype))
        if parser is not None:
            frames += parser.feed(body)
    assert parser is not None
    return frames, parser.stats


def clean_stats(frames: int) -> ParserStats:
    return ParserStats(frames=frames, dropped_invalid=0, dropped_oversize=0, garbage_bytes=0)


FRAMINGS = {
    # name: (body, boundary given to the parser, expected frames, expected headers or None)
    "stock, boundary learnt": (
        b"".join(stock_pieces(small_jpegs())),
        None,
        small_jpegs(),
    ),
    "older sketch": (b"".join(old_pieces(small_jpegs())), BOUNDARY, small_jpegs()),
    "older sketch, boundary learnt": (b"".join(old_pieces(small_jpegs())), None, small_jpegs()),
    "no boundary before first frame": (
        small_jpegs()[0] + b"".join(stock_pieces(small_jpegs()[1:])),
        BOUNDARY,
        small_jpegs(),
    ),
    "mpjpeg style, no CRLF before boundary": (
        b"".join(
            b"--ffmpeg\r\nContent-type: image/jpeg\r\nContent-length: %d\r\n\r\n" % len(j)
            + j
            + b"\r\n"
            for j in small_jpegs()
        ),
        "ffmpeg",
        small_jpegs(),
    ),
    "no Content-Length, EXIF thumbnails": (
        b"".join(
            b"--frame\r\nContent-Type: image/jpeg\r\n\r\n" + j + b"\r\n" for j in exif_jpegs()
        ),
        "frame",
        exif_jpegs(),
    ),
    "no Content-Length, boundary learnt": (
        b"".join(b"\r\n--frame\r\nContent-Type: image/jpeg\r\n\r\n" + j for j in exif_jpegs()),
        None,
        exif_jpegs(),
    ),
    "no part headers": (
        b"".join(b"--frame\r\n" + j + b"\r\n" for j in small_jpegs()),
        "frame",
        small_jpegs(),
    ),
    "bare JPEGs, no boundary ever": (b"".join(exif_jpegs()), None, exif_jpegs()),
    "declared boundary never sent": (b"".join(exif_jpegs()), "never", exif_jpegs()),
    "quoted boundary with space": (
        b"".join(stock_pieces(small_jpegs(), "my frame")),
        boundary_from_content_type('multipart/x-mixed-replace; boundary="my frame"'),
        small_jpegs(),
    ),
    "declared --B, sent --B": (
        b"".join(stock_pieces(small_jpegs(), "myboundary")),
        "--myboundary",
        small_jpegs(),
    ),
    "declared --B, sent ----B": (
        b"".join(stock_pieces(small_jpegs(), "--myboundary")),
        "--myboundary",
        small_jpegs(),
    ),
    "LF only, close delimiter": (
        b"".join(b"--b\nContent-Length: %d\n\n" % len(j) + j + b"\n" for j in small_jpegs())
        + b"--b--\n",
        "b",
        small_jpegs(),
    ),
}


def frames_per_call(body: bytes, boundary: str | None, last_byte: int) -> None:
    """Feeding all but the frame's last byte yields nothing; that byte yields the frame."""
    parser = MultipartParser(boundary)
    assert parser.feed(body[:last_byte]) == []
    out = parser.feed(body[last_byte : last_byte + 1])
    assert len(out) == 1
    assert parser.feed(body[last_byte + 1 :]) == []


@functools.cache
def jpeg_60k() -> bytes:
    for quality in (70, 80, 90, 95):
        jpeg = make_jpeg(320, 240, 11, quality)
        if len(jpeg) >= 60_000:
            return jpeg
    raise AssertionError("could not make a 60 KB JPEG")


@functools.cache
def mixed_stream() -> tuple[bytes, list[bytes], ParserStats]:
    """A stock stream with garbage, a truncated frame, a non-JPEG part and EOI-only parts."""
    a, b, c = small_jpegs()
    x, y, _ = exif_jpegs()
    delim = f"\r\n--{BOUNDARY}\r\n".encode()
    body = (
        b"".join(stock_pieces((a, b)))
        + b"junk!"
        + delim
        + b"Content-Type: image/jpeg\r\n\r\n"
        + x
        + delim
        + b"Content-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(c)
        + c[:-40]
        + delim
        + b"Content-Type: text/plain\r\nContent-Length: 4\r\n\r\nnope"
        + delim
        + b"Content-Type: image/jpeg\r\n\r\n"
        + y
        + b"".join(stock_pieces((c,)))
    )
    expected = [a, b, x, y, c]
    stats = ParserStats(frames=5, dropped_invalid=2, dropped_oversize=0, garbage_bytes=5)
    return body, expected, stats


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1700000000.000345", 1700000000.000345),
        ("12.5", 12.5),
        (" 42 ", 42.0),
        ("abc", None),
        ("1.2.3", None),
        ("-1.5", None),
        ("", None),
        (None, None),
    ],
)
def test_part_timestamp(value: str | None, expected: float | None) -> None:
    headers = {} if value is None else {"x-timestamp": value}
    assert Part(b"", headers).timestamp == expected


def test_stock_stream_frames_headers_and_stats() -> None:
    jpegs = small_jpegs()
    frames, parser = parse(b"".join(stock_pieces(jpegs)))
    assert [f.data for f in frames] == list(jpegs)
    assert [f.headers for f in frames] == [stock_headers(i, j) for i, j in enumerate(jpegs)]
    assert frames[1].timestamp == pytest.approx(1700000001.037003)
    assert parser.stats == clean_stats(3)


def test_recorded_stock_stream_split_at_every_byte() -> None:
    """The stock firmware's raw socket bytes (head, chunked body), split anywhere."""
    jpegs = small_jpegs()
    wire = STOCK_HEAD + chunked(stock_pieces(jpegs))
    reference, stats = parse_wire(wire)
    assert [f.data for f in reference] == list(jpegs)
    assert stats == clean_stats(3)
    for cut in range(1, len(wire)):
        frames, cut_stats = parse_wire(wire, [cut])
        assert frames == reference, cut
        assert cut_stats == stats, cut


@pytest.mark.parametrize("name", list(FRAMINGS))
def test_framing_split_at_every_byte(name: str) -> None:
    body, boundary, expected = FRAMINGS[name]
    reference, parser = parse(body, boundary=boundary)
    assert [f.data for f in reference] == list(expected)
    assert parser.stats == clean_stats(len(expected))
    for cut in range(1, len(body)):
        frames, cut_parser = parse(body, [cut], boundary=boundary)
        assert frames == reference, cut
        assert cut_parser.stats == parser.stats, cut


def test_boundary_is_learnt_from_the_stream() -> None:
    _, parser = parse(b"".join(stock_pieces(small_jpegs())), boundary=None)
    assert parser.boundary == BOUNDARY
    _, parser = parse(b"".join(stock_pieces(small_jpegs(), "--x")), boundary=None)
    assert parser.boundary == "--x"


def test_preamble_dash_lines_do_not_teach_a_boundary() -> None:
    jpegs = small_jpegs()
    preamble = b"-- stream starts --\r\n---------\r\n"
    frames, parser = parse(preamble + b"".join(stock_pieces(jpegs)), boundary=None)
    assert parser.boundary == BOUNDARY
    assert [f.data for f in frames] == list(jpegs)
    assert parser.stats.garbage_bytes == len(preamble.rstrip())


def test_stock_part_headers_kept_when_boundary_learnt() -> None:
    jpegs = small_jpegs()
    frames, _ = parse(b"".join(stock_pieces(jpegs)), boundary=None)
    assert [f.headers for f in frames] == [stock_headers(i, j) for i, j in enumerate(jpegs)]


def test_content_length_with_padding_after_eoi() -> None:
    jpeg = small_jpegs()[0]
    padded = jpeg + b"\x00\x00\r\n"
    body = b"--b\r\nContent-Length: %d\r\n\r\n" % len(padded) + padded + b"\r\n--b\r\n"
    frames, parser = parse(body, boundary="b")
    assert [f.data for f in frames] == [jpeg]
    assert parser.stats == clean_stats(1)


@pytest.mark.parametrize("delta", [-7, -1, 1, 9])
def test_wrong_content_length_recovers_from_markers(delta: int) -> None:
    a, b, c = small_jpegs()
    body = (
        b"--b\r\nContent-Length: %d\r\n\r\n" % (len(a) + delta)
        + a
        + b"".join(b"\r\n--b\r\nContent-Length: %d\r\n\r\n" % len(j) + j for j in (b, c))
        + b"\r\n--b\r\n"
    )
    frames, parser = parse(body, boundary="b")
    assert [f.data for f in frames] == [a, b, c]
    assert parser.stats.frames == 3 and parser.stats.dropped_invalid == 0


def test_garbage_between_parts_is_skipped_and_counted() -> None:
    a, b, c = small_jpegs()
    junk1 = b"some junk \x00\x01 without dashes"
    junk2 = b"\r\n\r\nmore junk"
    pieces = stock_pieces((a, b, c))
    body = b"".join(pieces[:3]) + junk1 + b"".join(pieces[3:6]) + junk2 + b"".join(pieces[6:])
    frames, parser = parse(body)
    assert [f.data for f in frames] == [a, b, c]
    assert parser.stats.garbage_bytes == len(junk1) + len(junk2)
    assert parser.stats.frames == 3 and parser.stats.dropped_invalid == 0
    # Garbage before the first boundary counts too; line breaks before a boundary do not.
    frames, parser = parse(b"preamble" + body)
    assert len(frames) == 3
    assert parser.stats.garbage_bytes == len(b"preamble") + len(junk1) + len(junk2)


def test_garbage_after_eoi_without_content_length() -> None:
    a, b = small_jpegs()[:2]
    body = b"--f\r\n\r\n" + a + b"TRAILING" + b"\r\n--f\r\n\r\n" + b + b"\r\n"
    frames, parser = parse(body, boundary="f")
    assert [f.data for f in frames] == [a, b]
    assert parser.stats.garbage_bytes == len(b"TRAILING")


def test_truncated_frame_with_content_length_dropped() -> None:
    a, b, c = small_jpegs()
    cut_b = b[: len(b) // 2]
    body = b"".join(
        f"\r\n--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(j)}\r\n\r\n".encode()
        + j
        for j in (a, cut_b, c)
    )
    for cuts in ([], list(range(1, len(body), 97))):
        frames, parser = parse(body, cuts)
        assert [f.data for f in frames] == [a, c]
        assert parser.stats.dropped_invalid == 1
        assert parser.stats.frames == 2


def test_truncated_frame_without_content_length_dropped() -> None:
    a, b, c = small_jpegs()
    body = b"".join(b"\r\n--f\r\n\r\n" + j for j in (a, b[:-300], c))
    frames, parser = parse(body, boundary="f")
    assert [f.data for f in frames] == [a, c]
    assert parser.stats.dropped_invalid == 1


def test_truncated_bare_jpeg_dropped_at_next_soi() -> None:
    a, b, c = small_jpegs()
    frames, parser = parse(a + b[:-200] + c, boundary=None)
    assert [f.data for f in frames] == [a, c]
    assert parser.stats.dropped_invalid == 1


def test_part_that_is_not_a_jpeg_dropped() -> None:
    a, b = small_jpegs()[:2]
    body = (
        b"--f\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(a)
        + a
        + b"\r\n--f\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
        + b"\r\n--f\r\nContent-Type: text/plain\r\n\r\nno length either"
        + b"\r\n--f\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(b)
        + b
        + b"\r\n--f\r\n"
    )
    frames, parser = parse(body, boundary="f")
    assert [f.data for f in frames] == [a, b]
    assert parser.stats.dropped_invalid == 2


def test_malformed_part_headers_resync_on_boundary() -> None:
    a, b = small_jpegs()[:2]
    body = (
        b"--f\r\nthis is not a header\r\nContent-Length: 3\r\n\r\nabc"
        + b"\r\n--f\r\nContent-Length: %d\r\n\r\n" % len(a)
        + a
        + b"\r\n--f\r\n--f\r\nContent-Length: %d\r\n\r\n" % len(b)
        + b
    )
    frames, parser = parse(body, boundary="f")
    assert [f.data for f in frames] == [a, b]
    assert parser.stats.frames == 2


def test_oversized_frame_with_content_length_dropped() -> None:
    small = small_jpegs()[0]
    big = make_jpeg(320, 240, 7, quality=95)
    limit = len(big) - 1
    assert len(small) < limit
    body = b"".join(stock_pieces((small, big, small)))
    for cuts in ([], list(range(1, len(body), 1460))):
        frames, parser = parse(body, cuts, max_frame_size=limit)
        assert [f.data for f in frames] == [small, small]
        assert parser.stats.dropped_oversize == 1
        assert parser.stats.dropped_invalid == 0
        assert parser.stats.garbage_bytes == 0


def test_lying_huge_content_length_resyncs_on_boundary() -> None:
    a, b = small_jpegs()[:2]
    body = (
        b"\r\n--f\r\nContent-Length: 999999999999\r\n\r\n"
        + a
        + b"\r\n--f\r\nContent-Length: %d\r\n\r\n" % len(b)
        + b
    )
    frames, parser = parse(body, [10, 100, 700], boundary="f", max_frame_size=1 << 20)
    assert [f.data for f in frames] == [b]
    assert parser.stats.dropped_oversize == 1


@pytest.mark.parametrize("boundary", ["frame", None])
def test_oversized_frame_without_content_length_memory_bounded(boundary: str | None) -> None:
    """A never-ending part is cut at the cap and never buffered beyond it."""
    limit = 64 * 1024
    chunk = 1460
    small = small_jpegs()[0]
    # A JPEG head followed by 2 MB of entropy-like data without an EOI.
    huge = small[: small.index(b"\xff\xda")] + b"\xff\xda\x00\x02" + entropy_filler(2 << 20, 5)
    body = (
        b"\r\n--frame\r\nContent-Type: image/jpeg\r\n\r\n"
        + small
        + b"\r\n--frame\r\nContent-Type: image/jpeg\r\n\r\n"
        + huge
        + b"\r\n--frame\r\nContent-Type: image/jpeg\r\n\r\n"
        + small
        + b"\r\n--frame\r\n"
    )
    parser = MultipartParser(boundary, max_frame_size=limit)
    frames: list[Part] = []
    peak = 0
    for i in range(0, len(body), chunk):
        frames += parser.feed(body[i : i + chunk])
        peak = max(peak, parser.buffered)
    assert [f.data for f in frames] == [small, small]
    assert parser.stats.dropped_oversize == 1
    assert peak <= limit + chunk


def test_oversized_bare_jpeg_memory_bounded() -> None:
    limit = 32 * 1024
    small, other = small_jpegs()[:2]
    big = make_jpeg(400, 300, 3, quality=95)
    assert len(big) > limit
    parser = MultipartParser(None, max_frame_size=limit)
    frames: list[Part] = []
    peak = 0
    body = small + big + other
    for i in range(0, len(body), 1000):
        frames += parser.feed(body[i : i + 1000])
        peak = max(peak, parser.buffered)
    assert frames[0].data == small and frames[-1].data == other
    assert parser.stats.dropped_oversize == 1
    assert peak <= limit + 1000


def test_frame_leaves_with_its_last_byte_content_length() -> None:
    jpeg = small_jpegs()[0]
    head = b"".join(stock_pieces((jpeg,))[:2])
    body = head + jpeg + f"\r\n--{BOUNDARY}\r\n".encode()
    frames_per_call(body, BOUNDARY, len(head) + len(jpeg) - 1)


def test_frame_leaves_with_its_last_byte_eoi() -> None:
    jpeg = exif_jpegs()[0]  # the thumbnail's EOI must not end the frame
    head = b"--frame\r\nContent-Type: image/jpeg\r\n\r\n"
    body = head + jpeg + b"\r\n--frame\r\n"
    frames_per_call(body, "frame", len(head) + len(jpeg) - 1)
    frames_per_call(body, None, len(head) + len(jpeg) - 1)


def test_bare_jpeg_leaves_with_its_last_byte() -> None:
    jpeg = exif_jpegs()[1]
    frames_per_call(jpeg + small_jpegs()[0][:10], None, len(jpeg) - 1)


def test_old_sketch_frame_leaves_before_the_boundary() -> None:
    jpeg = small_jpegs()[0]
    body = b"".join(old_pieces((jpeg,)))
    frames_per_call(body, BOUNDARY, body.index(jpeg) + len(jpeg) - 1)


@pytest.mark.parametrize("with_length", [True, False])
def test_small_chunks_are_not_rescanned(with_length: bool) -> None:
    """Cost stays linear: a 4 MB part in 1460-byte pieces takes about as long as one feed."""
    limit = 8 * 1024 * 1024
    jpeg = jpeg_60k()
    sos = jpeg.index(b"\xff\xda")
    big = jpeg[:sos] + b"\xff\xda\x00\x02" + entropy_filler(4 << 20, 1) + b"\xff\xd9"
    length = b"Content-Length: %d\r\n" % len(big) if with_length else b""
    body = b"\r\n--f\r\n" + length + b"\r\n" + big + b"\r\n--f\r\n"
    parser = MultipartParser("f", max_frame_size=limit)
    start = time.perf_counter()
    frames: list[Part] = []
    for i in range(0, len(body), 1460):
        frames += parser.feed(body[i : i + 1460])
    elapsed = time.perf_counter() - start
    assert [f.data for f in frames] == [big]
    # Quadratic rescanning would touch ~6 GB here (minutes); linear work takes well under 1 s.
    assert elapsed < 2.0, elapsed


def test_stream_of_60k_frames_in_tcp_sized_chunks() -> None:
    jpeg = jpeg_60k()
    body = b"".join(stock_pieces((jpeg,) * 30))
    frames, parser = parse(body, list(range(1460, len(body), 1460)))
    assert len(frames) == 30 and all(f.data == jpeg for f in frames)
    assert parser.stats == clean_stats(30)


def test_mixed_stream_reference() -> None:
    body, expected, stats = mixed_stream()
    frames, parser = parse(body)
    assert [f.data for f in frames] == expected
    assert parser.stats == stats


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=1), max_size=40), st.booleans())
def test_any_chunking_gives_the_same_frames(cuts: list[int], learn: bool) -> None:
    body, expected, stats = mixed_stream()
    frames, parser = parse(
        body, [c % len(body) for c in cuts], boundary=None if learn else BOUNDARY
    )
    assert [f.data for f in frames] == expected
    assert parser.stats == stats


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1), max_size=25))
def test_any_chunking_of_raw_socket_bytes(cuts: list[int]) -> None:
    jpegs = small_jpegs()
    wire = STOCK_HEAD + chunked(stock_pieces(jpegs))
    frames, stats = parse_wire(wire, [c % len(wire) for c in cuts])
    assert [f.data for f in frames] == list(jpegs)
    assert stats == clean_stats(3)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=30),
    st.lists(st.integers(min_value=1), max_size=20),
    st.sampled_from([BOUNDARY, None]),
)
def test_corrupted_stream_never_crashes(
    flips: list[tuple[int, int]], cuts: list[int], boundary: str | None
) -> None:
    """Random byte damage: no exception, only whole JPEGs out, memory bounded."""
    body = bytearray(mixed_stream()[0])
    for pos, value in flips:
        body[pos % len(body)] = value
    limit = 4096
    parser = MultipartParser(boundary, max_frame_size=limit)
    bounds = [0, *sorted(c % len(body) for c in cuts), len(body)]
    for a, b in zip(bounds, bounds[1:], strict=False):
        for part in parser.feed(bytes(body[a:b])):
            assert part.data.startswith(b"\xff\xd8\xff") and part.data.endswith(b"\xff\xd9")
            assert len(part.data) <= limit
        assert parser.buffered <= limit + (b - a) + MAX_PART_HEAD


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=3000), st.sampled_from(["f", None]))
def test_random_bytes_never_crash(data: bytes, boundary: str | None) -> None:
    parser = MultipartParser(boundary, max_frame_size=1024)
    for i in range(0, len(data), 97):
        parser.feed(data[i : i + 97])
        assert parser.buffered <= 1024 + 97 + MAX_PART_HEAD
