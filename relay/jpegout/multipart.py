"""``multipart/x-mixed-replace`` framing of JPEGs, and a client's frame-rate cap. Pure.

Each part carries ``Content-Length``: readers such as ffmpeg's and Home Assistant's use it
instead of scanning for the boundary, and the boundary cannot be confused with bytes of
the picture.
"""

from __future__ import annotations

BOUNDARY = "esp32relayframe"
CONTENT_TYPE = f"multipart/x-mixed-replace; boundary={BOUNDARY}"
MAX_FPS = 60.0


def part(jpeg: bytes, timestamp: float | None = None) -> bytes:
    """One part: boundary, headers, the JPEG, and the line end before the next boundary."""
    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n"
    if timestamp is not None:
        head += f"X-Timestamp: {timestamp:.6f}\r\n"
    return head.encode("ascii") + b"\r\n" + jpeg + b"\r\n"


def chunk(data: bytes) -> bytes:
    """``data`` framed as one chunk of ``Transfer-Encoding: chunked`` (RFC 9112 7.1)."""
    return f"{len(data):x}\r\n".encode("ascii") + data + b"\r\n"


def parse_fps(text: str | None) -> float | None:
    """A client's ``?fps=``: None (the camera's rate) or a rate in (0, MAX_FPS].

    Raises ValueError with what is allowed."""
    if text is None or text == "":
        return None
    try:
        fps = float(text)
    except ValueError:
        raise ValueError(f"fps must be a number, got {text!r}") from None
    if not 0 < fps <= MAX_FPS:
        raise ValueError(f"fps must be above 0 and at most {MAX_FPS:g}, got {text!r}")
    return fps


def parse_max_age(text: str | None, default: float) -> float:
    """A snapshot's ``?max_age=`` in seconds, in (0, 86400]; ``default`` when absent."""
    if text is None or text == "":
        return default
    try:
        age = float(text)
    except ValueError:
        raise ValueError(f"max_age must be a number of seconds, got {text!r}") from None
    if not 0 < age <= 86400:
        raise ValueError(f"max_age must be above 0 and at most 86400 seconds, got {text!r}")
    return age


class RateCap:
    """When a client capped at ``fps`` may get its next frame: at most one per period, on
    a fixed grid so the average holds, without a burst to catch up after a pause."""

    def __init__(self, fps: float | None) -> None:
        self.period = 1.0 / fps if fps else 0.0
        self._next = 0.0

    def wait(self, now: float) -> float:
        """Seconds to wait before the next frame may go (0: now)."""
        return max(self._next - now, 0.0)

    def sent(self, now: float) -> None:
        if not self.period:
            return
        # On the grid while the camera keeps up (its frames come a little early or late);
        # after a pause a fresh grid from now, not a burst to catch up.
        if now - self._next > self.period:
            self._next = now + self.period
        else:
            self._next += self.period
