"""Where a JPEG ends, found by following its segment structure as its bytes arrive.

Used by the multipart parser for parts without a (trustworthy) Content-Length: the
walker resumes where the previous ``feed`` left it, so no byte is scanned twice.
"""

from __future__ import annotations

SOI = b"\xff\xd8"
EOI = b"\xff\xd9"
_PAD = b" \t\r\n\x00"  # what some servers leave after the EOI inside Content-Length

# JPEG walker states: between segments, inside entropy-coded data, or lost (markers
# that make no sense: only a boundary, or a naive EOI search, can end the frame).
MARKER = 0
ENTROPY = 1
LOST = 2

# Walker results.
NEED = 0  # more bytes needed
END = 1  # EOI found; position is the index just past it
NEW_SOI = 2  # another image starts before this one ended; position is its SOI


def as_jpeg(data: bytes) -> bytes | None:
    """``data`` if it is a complete JPEG (SOI first, EOI last), minus trailing padding."""
    if not data.startswith(b"\xff\xd8\xff"):
        return None
    if data.endswith(EOI):
        return data
    trimmed = data.rstrip(_PAD)
    if len(trimmed) >= 5 and trimmed.endswith(EOI):
        return trimmed
    return None


class JpegWalker:
    """The walk through one JPEG: position and state kept between calls."""

    def __init__(self) -> None:
        self.pos = 0
        self.state = MARKER

    def reset(self) -> None:
        self.pos = 0
        self.state = MARKER

    def walk(self, buf: bytearray, limit: int, bounded: bool) -> tuple[int, int]:
        """Follow the JPEG's segment structure from the saved position up to ``limit``.

        Segments before the scan carry their length, so their payload (an EXIF thumbnail
        with its own EOI, say) is skipped unread. In entropy-coded data a 0xFF byte is
        always followed by 0x00 (stuffing) or a restart marker, so the first other marker
        there is real: another segment (progressive JPEGs) or the EOI. ``bounded``: a
        boundary will end the part, so lost markers need not be guessed at.
        """
        p = self.pos
        st = self.state
        try:
            while True:
                if st == ENTROPY:
                    q = buf.find(b"\xff", p, limit)
                    if q < 0:
                        p = max(p, limit)
                        return NEED, 0
                    if q + 1 >= limit:
                        p = q
                        return NEED, 0
                    m = buf[q + 1]
                    if m == 0x00 or 0xD0 <= m <= 0xD7:
                        p = q + 2
                    elif m == 0xFF:
                        p = q + 1  # fill byte before a marker
                    else:
                        p = q
                        st = MARKER
                elif st == MARKER:
                    if p + 2 > limit:
                        return NEED, 0
                    if buf[p] != 0xFF:
                        st = LOST
                        continue
                    m = buf[p + 1]
                    if m == 0xFF:
                        p += 1
                    elif m == 0xD8:
                        if p != 0:
                            return NEW_SOI, p
                        p = 2
                    elif m == 0xD9:
                        return END, p + 2
                    elif m == 0x01 or 0xD0 <= m <= 0xD7:
                        p += 2  # markers without a length
                    elif m == 0x00:
                        st = LOST
                    else:
                        if p + 4 > limit:
                            return NEED, 0
                        length = (buf[p + 2] << 8) | buf[p + 3]
                        if length < 2:
                            st = LOST
                            continue
                        p += 2 + length
                        if m == 0xDA:
                            st = ENTROPY  # start of scan: entropy-coded data follows
                else:
                    if bounded:
                        p = max(p, limit)
                        return NEED, 0  # the next boundary will end this part
                    # No boundary to rely on: take the next EOI (or SOI) at face value.
                    q = buf.find(b"\xff", p, limit)
                    if q < 0:
                        p = max(p, limit)
                        return NEED, 0
                    if q + 1 >= limit:
                        p = q
                        return NEED, 0
                    m = buf[q + 1]
                    if m == 0xD9:
                        return END, q + 2
                    if m == 0xD8:
                        return NEW_SOI, q
                    p = q + 1
        finally:
            self.pos = p
            self.state = st
