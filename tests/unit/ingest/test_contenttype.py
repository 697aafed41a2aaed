"""The boundary of a multipart response, from its Content-Type."""

from __future__ import annotations

import pytest

from relay.ingest.contenttype import boundary_from_content_type

BOUNDARY = "123456789000000000000987654321"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"multipart/x-mixed-replace;boundary={BOUNDARY}", BOUNDARY),
        ("multipart/x-mixed-replace; boundary=frame", "frame"),
        ("multipart/x-mixed-replace ;  boundary = frame ; charset=utf-8", "frame"),
        ("Multipart/X-Mixed-Replace; BOUNDARY=Frame", "Frame"),
        ('multipart/x-mixed-replace; boundary="quoted frame"', "quoted frame"),
        ('multipart/x-mixed-replace; boundary="a;b=\\"c\\""; x=1', 'a;b="c"'),
        ("multipart/x-mixed-replace;boundary=--myboundary", "--myboundary"),
        ('multipart/x-mixed-replace; x="boundary=no"; boundary=yes', "yes"),
        ("multipart/x-mixed-replace; charset=utf-8", None),
        ("multipart/x-mixed-replace; boundary=", None),
        ('multipart/x-mixed-replace; boundary=""', None),
        ("image/jpeg", None),
        ("", None),
    ],
)
def test_boundary_from_content_type(value: str, expected: str | None) -> None:
    assert boundary_from_content_type(value) == expected
