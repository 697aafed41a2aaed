"""The multipart parser against damaged camera streams: whole JPEGs out or nothing, never
an exception, memory within its bound, whatever the damage and however it is split."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from relay.ingest.jpegwalk import as_jpeg
from relay.ingest.mjpeg import MAX_PART_HEAD, MultipartParser
from tests.fuzz.budget import FUZZ
from tests.unit.ingest.test_mjpeg import BOUNDARY, mixed_stream

STREAM = bytes(mixed_stream()[0])
LIMIT = 64 * 1024


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    body = bytearray(STREAM)
    for _ in range(draw(st.integers(0, 12))):
        at = draw(st.integers(0, len(body)))
        op = draw(st.sampled_from(["flip", "insert", "delete", "splice", "repeat"]))
        if op == "flip" and at < len(body):
            body[at] = draw(st.integers(0, 255))
        elif op == "insert":
            body[at:at] = draw(
                st.one_of(
                    st.binary(max_size=64),
                    st.sampled_from(
                        [b"\xff\xd8\xff", b"\xff\xd9", b"\r\n--", b"--" + BOUNDARY.encode()]
                    ),
                )
            )
        elif op == "delete":
            del body[at : at + draw(st.integers(1, 400))]
        elif op == "splice":
            src = draw(st.integers(0, len(STREAM) - 1))
            body[at:at] = STREAM[src : src + draw(st.integers(1, 2000))]
        else:
            body[at:at] = body[at : at + draw(st.integers(1, 300))] * draw(st.integers(1, 4))
    return bytes(body)


@FUZZ
@given(damaged(), st.lists(st.integers(1, 5000), max_size=30), st.sampled_from([BOUNDARY, None]))
def test_damaged_streams_give_whole_jpegs_or_nothing(
    body: bytes, cuts: list[int], boundary: str | None
) -> None:
    parser = MultipartParser(boundary, max_frame_size=LIMIT)
    pos = 0
    for size in [*cuts, len(body)]:
        piece = body[pos : pos + size]
        pos += size
        for part in parser.feed(piece):
            assert as_jpeg(part.data) == part.data  # a whole JPEG, SOI to EOI
            assert len(part.data) <= LIMIT
        assert parser.buffered <= LIMIT + len(piece) + MAX_PART_HEAD
        if pos >= len(body):
            break
