"""JPEG decoding for the relay: camera JPEG in, limited-range yuv420p `av.VideoFrame` out.

libjpeg-turbo (bundled in the `simplejpeg` wheel) decodes to BGR in strict mode: its
warnings (premature end of data, corrupt entropy data) become errors, so
a damaged frame raises DecodeError instead of coming out partly grey. OpenCV's
``COLOR_BGR2YUV_I420`` then produces BT.601 *limited* range 4:2:0, which is what browsers
assume for VP8: the full-range JFIF levels land on 16-235 (luma) and 16-240 (chroma). The
new I420 buffer becomes the frame's memory without a copy.

Why this path (``bench/decoders.py`` measures it against PyAV's MJPEG decoder, OpenCV,
Pillow, imagecodecs and PyTurboJPEG): no candidate is faster by more than 0.1 ms at any
size and it is the fastest for 4:2:2 at 1600x1200, it is the only strict one that needs no
system library, it releases the GIL while it works, and frames decoded directly and frames
that went through OpenCV processing share one conversion.

Limits: damage that leaves the entropy-coded data syntactically valid cannot be noticed by
any decoder; libjpeg-turbo catches every truncation and about half of random noise bursts
inside the scan. Frames for the encoder have even sizes (4:2:0 needs whole chroma
samples): an odd width or height loses its last column or row. ``decode_bgr`` returns the
full image.
"""

from __future__ import annotations

import re

import av
import cv2
import numpy as np
import simplejpeg
from av.video.reformatter import ColorRange, Colorspace

__all__ = ["DEFAULT_MAX_PIXELS", "DecodeError", "JpegDecoder", "bgr_to_yuv420"]

# Larger than any ESP32 camera sensor (OV5640: 2592x1944); a corrupt header claiming more
# is rejected before anything is allocated for it.
DEFAULT_MAX_PIXELS = 4096 * 4096


class DecodeError(ValueError):
    """The input is not a complete, intact JPEG image."""


class JpegDecoder:
    """Decodes one camera's JPEG frames. Stateless apart from its limits, cheap to create.

    Safe to call from a worker thread: the heavy calls release the GIL. Every array and
    frame it returns is newly allocated and owned by the caller alone.
    """

    def __init__(self, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        if max_pixels <= 0:
            raise ValueError("max_pixels must be positive")
        self.max_pixels = max_pixels

    def size(self, data: bytes | bytearray | memoryview) -> tuple[int, int]:
        """(width, height) of the JPEG, read from its header only (about a microsecond).

        Raises DecodeError when there is no readable JPEG header or the image is larger
        than ``max_pixels``.
        """
        if len(data) < 4 or data[0] != 0xFF or data[1] != 0xD8:
            raise DecodeError("not a JPEG (no SOI marker)")
        try:
            height, width, _colorspace, _subsampling = simplejpeg.decode_jpeg_header(data)
        except (ValueError, RuntimeError) as exc:
            raise DecodeError(f"bad JPEG header: {exc}") from exc
        width, height = int(width), int(height)
        if width <= 0 or height <= 0:
            raise DecodeError(f"bad JPEG size {width}x{height}")
        if width * height > self.max_pixels:
            raise DecodeError(f"JPEG of {width}x{height} exceeds {self.max_pixels} pixels")
        return width, height

    def decode_bgr(self, data: bytes | bytearray | memoryview) -> np.ndarray:
        """Decode to an HxWx3 uint8 BGR array (OpenCV's layout), full size.

        Any libjpeg-turbo warning (premature end of data, corrupt entropy data) raises
        DecodeError, except a few stray bytes before a marker.
        """
        self.size(data)
        try:
            return self._decode(data, strict=True)
        except (ValueError, RuntimeError) as exc:
            if not _benign_padding(str(exc)):
                raise DecodeError(str(exc)) from exc
        # A few stray bytes before a marker, with every MCU decoded: webcams and camera
        # modules produce these routinely, and the picture is whole.
        try:
            return self._decode(data, strict=False)
        except (ValueError, RuntimeError) as exc:
            raise DecodeError(str(exc)) from exc

    @staticmethod
    def _decode(data: bytes | bytearray | memoryview, *, strict: bool) -> np.ndarray:
        # fastupsample replicates chroma samples instead of interpolating them: 5-10 %
        # faster, and converting back to 4:2:0 (bgr_to_yuv420) then recovers the
        # original chroma samples instead of a blurred version.
        img: np.ndarray = simplejpeg.decode_jpeg(
            data, colorspace="BGR", fastupsample=True, strict=strict
        )
        return img

    def decode_yuv420(self, data: bytes | bytearray | memoryview) -> av.VideoFrame:
        """Decode to a new yuv420p frame in BT.601 limited range, ready for the VP8 encoder.

        Width and height are the JPEG's, rounded down to even numbers.
        """
        return bgr_to_yuv420(self.decode_bgr(data))


_PADDING = re.compile(r"Corrupt JPEG data: (\d+) extraneous bytes before marker 0x[0-9a-f]{2}$")
_MAX_PADDING = 8  # more than a few stray bytes is more likely damage than padding


def _benign_padding(message: str) -> bool:
    m = _PADDING.search(message)
    return m is not None and int(m.group(1)) <= _MAX_PADDING


def bgr_to_yuv420(img: np.ndarray) -> av.VideoFrame:
    """Convert an HxWx3 uint8 BGR image to a new BT.601 limited-range yuv420p frame.

    An odd width or height loses its last column or row. The frame owns its memory; the
    input array is neither kept nor modified.
    """
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 uint8 BGR image, got {img.dtype} {img.shape}")
    height, width = img.shape[0] & ~1, img.shape[1] & ~1
    if width == 0 or height == 0:
        raise ValueError(f"image of {img.shape[1]}x{img.shape[0]} is too small for 4:2:0")
    # I420 output of OpenCV is studio swing (Y 16-235, Cb/Cr 16-240) with BT.601
    # coefficients, averaging each 2x2 block for chroma. The array is freshly allocated, so
    # the frame may wrap it: the frame keeps a reference and no one else has one.
    i420 = np.asarray(cv2.cvtColor(img[:height, :width], cv2.COLOR_BGR2YUV_I420), np.uint8)
    if height % 4 == 0:
        frame = av.VideoFrame.from_numpy_buffer(i420, format="yuv420p")
    else:
        # PyAV (up to 18 at least) derives a wrong height from an I420 array whose chroma
        # planes have an odd number of rows, so those sizes are copied plane by plane.
        frame = _copy_i420(i420, width, height)
    frame.color_range = ColorRange.MPEG
    frame.colorspace = Colorspace.ITU601
    return frame


def _copy_i420(i420: np.ndarray, width: int, height: int) -> av.VideoFrame:
    """Copy a contiguous I420 buffer (Y, then U, then V) into a new yuv420p frame."""
    frame = av.VideoFrame(width, height, "yuv420p")
    flat = i420.reshape(-1)
    offset = 0
    for plane in frame.planes:
        size = plane.width * plane.height
        view = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
        view[:, : plane.width] = flat[offset : offset + size].reshape(plane.height, plane.width)
        offset += size
    return frame


def scale_yuv420(frame: av.VideoFrame, width: int, height: int) -> av.VideoFrame:
    """A new yuv420p frame of ``width`` x ``height`` (even) from ``frame``, area-averaged.

    Each plane is resized by OpenCV (``INTER_AREA``, which releases the GIL): 0.08 ms
    for 800x600 to 400x300 here. Range and colour space are kept.
    """
    out = np.empty((height * 3 // 2, width), np.uint8)
    flat = out.reshape(-1)
    offset = 0
    for plane, (w, h) in zip(
        frame.planes,
        ((width, height), (width // 2, height // 2), (width // 2, height // 2)),
        strict=True,
    ):
        src = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
        dst = flat[offset : offset + w * h].reshape(h, w)
        cv2.resize(src[:, : plane.width], (w, h), dst=dst, interpolation=cv2.INTER_AREA)
        offset += w * h
    scaled = (
        av.VideoFrame.from_numpy_buffer(out, format="yuv420p")
        if height % 4 == 0
        else _copy_i420(out, width, height)
    )
    scaled.color_range = ColorRange.MPEG
    scaled.colorspace = Colorspace.ITU601
    return scaled
