"""JPEG decoding: sizes, colour levels, 4:2:2 and 4:2:0 inputs, and rejection of bad input."""

from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from relay.video.decode import DecodeError, JpegDecoder, bgr_to_yuv420

SAMPLING = {
    "422": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422,
    "420": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
    "444": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
}

# BGR colour bars: white, yellow, cyan, green, magenta, red, blue, black.
BARS = [
    (255, 255, 255),
    (0, 255, 255),
    (255, 255, 0),
    (0, 255, 0),
    (255, 0, 255),
    (0, 0, 255),
    (255, 0, 0),
    (0, 0, 0),
]


def synthetic(width: int = 320, height: int = 240) -> np.ndarray:
    """Grey gradient on top, colour bars in the middle, black and white patches below.

    Region edges fall on even coordinates, so 4:2:0 chroma never straddles two colours.
    """
    img = np.zeros((height, width, 3), np.uint8)
    band = (height // 3) & ~1
    ramp = np.linspace(0, 255, width).round().astype(np.uint8)
    img[:band] = ramp[None, :, None]
    bar_w = (width // len(BARS)) & ~1
    for i, colour in enumerate(BARS):
        x1 = width if i == len(BARS) - 1 else (i + 1) * bar_w
        img[band : 2 * band, i * bar_w : x1] = colour
    half = (width // 2) & ~1
    img[2 * band :, :half] = 0
    img[2 * band :, half:] = 255
    return img


def regions(width: int = 320, height: int = 240) -> dict[str, tuple[slice, slice]]:
    """Interiors (4 px in from every edge) of the black and white patches and the red bar."""
    band = (height // 3) & ~1
    half = (width // 2) & ~1
    bar_w = (width // len(BARS)) & ~1
    return {
        "black": (slice(2 * band + 4, height - 4), slice(4, half - 4)),
        "white": (slice(2 * band + 4, height - 4), slice(half + 4, width - 4)),
        "red": (slice(band + 4, 2 * band - 4), slice(5 * bar_w + 4, 6 * bar_w - 4)),
    }


def encode(img: np.ndarray, sampling: str = "420", quality: int = 95) -> bytes:
    ok, buf = cv2.imencode(
        ".jpg",
        img,
        [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, SAMPLING[sampling]],
    )
    assert ok
    return buf.tobytes()


def planes(frame: av.VideoFrame) -> list[np.ndarray]:
    """The visible part of each plane (line padding cut off), as copies."""
    out = []
    for plane in frame.planes:
        rows = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
        out.append(rows[:, : plane.width].copy())
    return out


def scan_bounds(data: bytes) -> tuple[int, int]:
    """Offsets of the first and one past the last entropy-coded byte of a baseline JPEG."""
    sos = data.index(b"\xff\xda")
    start = sos + 2 + int.from_bytes(data[sos + 2 : sos + 4], "big")
    end = data.rindex(b"\xff\xd9")
    return start, end


@pytest.fixture(scope="module")
def source() -> np.ndarray:
    return synthetic()


@pytest.mark.parametrize("sampling", ["422", "420", "444"])
def test_size_comes_from_the_header(sampling: str) -> None:
    data = encode(synthetic(352, 288), sampling)
    assert JpegDecoder().size(data) == (352, 288)
    # The header alone is enough: a frame cut right after the start of scan still has one.
    start, _ = scan_bounds(data)
    assert JpegDecoder().size(data[: start + 10]) == (352, 288)


@pytest.mark.parametrize("sampling", ["422", "420"])
def test_yuv420_frame_has_the_jpeg_size_and_format(source: np.ndarray, sampling: str) -> None:
    frame = JpegDecoder().decode_yuv420(encode(source, sampling))
    assert isinstance(frame, av.VideoFrame)
    assert frame.format.name == "yuv420p"
    assert (frame.width, frame.height) == (320, 240)
    assert [(p.width, p.height) for p in frame.planes] == [(320, 240), (160, 120), (160, 120)]
    assert frame.color_range == 1  # MPEG, i.e. limited range


@pytest.mark.parametrize("sampling", ["422", "420"])
def test_yuv420_levels_are_bt601_limited_range(source: np.ndarray, sampling: str) -> None:
    y, u, v = planes(JpegDecoder().decode_yuv420(encode(source, sampling)))
    box = regions()
    ys, xs = box["black"]
    cs = (slice(ys.start // 2, ys.stop // 2), slice(xs.start // 2, xs.stop // 2))
    assert np.abs(y[ys, xs].astype(int) - 16).max() <= 1
    assert np.abs(u[cs].astype(int) - 128).max() <= 1
    assert np.abs(v[cs].astype(int) - 128).max() <= 1
    ys, xs = box["white"]
    cs = (slice(ys.start // 2, ys.stop // 2), slice(xs.start // 2, xs.stop // 2))
    assert np.abs(y[ys, xs].astype(int) - 235).max() <= 1
    assert np.abs(u[cs].astype(int) - 128).max() <= 1
    assert np.abs(v[cs].astype(int) - 128).max() <= 1
    # Pure red in limited-range BT.601 is Y 81, Cb 90, Cr 240 (full range: 76, 85, 255).
    ys, xs = box["red"]
    cs = (slice(ys.start // 2, ys.stop // 2), slice(xs.start // 2, xs.stop // 2))
    assert abs(float(np.median(y[ys, xs])) - 81) <= 2
    assert abs(float(np.median(u[cs])) - 90) <= 3
    assert abs(float(np.median(v[cs])) - 240) <= 3
    # The grey ramp spans the whole limited range and no more.
    top = y[4:60]
    assert 15 <= int(top.min()) <= 18
    assert 233 <= int(top.max()) <= 236


@pytest.mark.parametrize("sampling", ["422", "420", "444"])
def test_yuv420_frame_shows_the_source_picture(source: np.ndarray, sampling: str) -> None:
    frame = JpegDecoder().decode_yuv420(encode(source, sampling))
    rgb = frame.to_ndarray(format="rgb24").astype(int)
    diff = np.abs(rgb - source[:, :, ::-1].astype(int))
    # Colour edges smear a little through JPEG and 4:2:0; everything else matches closely.
    assert diff.mean() < 2.0
    assert np.percentile(diff, 99) <= 12
    for ys, xs in regions().values():
        assert diff[ys, xs].max() <= 6


@pytest.mark.parametrize("sampling", ["422", "420"])
def test_bgr_path_equals_the_source(source: np.ndarray, sampling: str) -> None:
    img = JpegDecoder().decode_bgr(encode(source, sampling))
    assert img.shape == (240, 320, 3)
    assert img.dtype == np.uint8
    diff = np.abs(img.astype(int) - source.astype(int))
    assert diff.mean() < 2.0
    for ys, xs in regions().values():
        assert diff[ys, xs].max() <= 4


def test_bgr_to_yuv420_converts_processed_images(source: np.ndarray) -> None:
    frame = bgr_to_yuv420(source)
    assert frame.format.name == "yuv420p"
    assert (frame.width, frame.height) == (320, 240)
    y, _u, _v = planes(frame)
    ys, xs = regions()["black"]
    assert set(np.unique(y[ys, xs])) == {16}
    ys, xs = regions()["white"]
    assert set(np.unique(y[ys, xs])) == {235}
    diff = np.abs(frame.to_ndarray(format="rgb24").astype(int) - source[:, :, ::-1].astype(int))
    assert diff.max() <= 3  # no JPEG in between: only rounding
    with pytest.raises(ValueError):
        bgr_to_yuv420(source[:, :, 0])


def test_odd_sizes_lose_the_last_row_and_column() -> None:
    src = synthetic(99, 71)
    decoder = JpegDecoder()
    data = encode(src, "422")
    assert decoder.size(data) == (99, 71)
    assert decoder.decode_bgr(data).shape == (71, 99, 3)
    frame = decoder.decode_yuv420(data)
    assert (frame.width, frame.height) == (98, 70)
    rgb = frame.to_ndarray(format="rgb24").astype(int)
    diff = np.abs(rgb - src[:70, :98, ::-1].astype(int))
    assert diff.mean() < 4.0
    for ys, xs in regions(99, 71).values():
        assert diff[ys, xs].max() <= 6


def test_every_frame_is_a_new_object_with_its_own_memory(source: np.ndarray) -> None:
    decoder = JpegDecoder()
    data = encode(source)
    first = decoder.decode_yuv420(data)
    second = decoder.decode_yuv420(data)
    assert first is not second
    before = planes(second)
    for plane in first.planes:
        np.frombuffer(memoryview(plane), np.uint8)[:] = 0
    for got, expected in zip(planes(second), before, strict=True):
        assert np.array_equal(got, expected)
    # A frame made from a processed image does not follow later changes to that image.
    img = source.copy()
    frame = bgr_to_yuv420(img)
    img[:] = 0
    assert planes(frame)[0].max() == 235


def test_accepts_bytearray_and_memoryview(source: np.ndarray) -> None:
    data = encode(source)
    decoder = JpegDecoder()
    for buf in (bytearray(data), memoryview(data)):
        assert decoder.size(buf) == (320, 240)
        assert decoder.decode_yuv420(buf).width == 320


def test_greyscale_jpeg_decodes_to_neutral_chroma() -> None:
    grey = synthetic()[:, :, 1]
    ok, buf = cv2.imencode(".jpg", grey, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    frame = JpegDecoder().decode_yuv420(buf.tobytes())
    _y, u, v = planes(frame)
    assert np.abs(u.astype(int) - 128).max() <= 1
    assert np.abs(v.astype(int) - 128).max() <= 1


def corrupt_inputs() -> dict[str, bytes]:
    good = encode(synthetic(), "422", quality=90)
    start, end = scan_bounds(good)
    mid = (start + end) // 2
    flipped = bytearray(good)
    for i in range(mid, mid + 8):
        flipped[i] ^= 0x5A
    ok, png = cv2.imencode(".png", synthetic())
    assert ok
    rng = np.random.default_rng(1234)
    noise = rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    return {
        "truncated in the scan": good[: (start + end) // 2],
        "truncated: no EOI": good[:-2],
        "truncated after the header": good[: start + 16],
        "corrupt entropy data": bytes(flipped),
        "garbage": noise,
        "SOI then garbage": b"\xff\xd8" + noise,
        "empty": b"",
        "PNG": png.tobytes(),
        "plain text": b"HTTP/1.1 500 Internal Server Error\r\n\r\n",
    }


CORRUPT = corrupt_inputs()


def test_damaged_inputs_are_ones_that_lenient_decoders_accept() -> None:
    # Guards the fixtures: these frames pass FFmpeg's MJPEG decoder (PyAV) and, for the
    # corrupt scan, OpenCV's imdecode, which fill what they could not decode with grey.
    for name in ("truncated: no EOI", "corrupt entropy data"):
        codec = av.CodecContext.create("mjpeg", "r")
        frames = codec.decode(av.Packet(CORRUPT[name]))
        assert [(f.width, f.height) for f in frames] == [(320, 240)], name
    img = cv2.imdecode(np.frombuffer(CORRUPT["corrupt entropy data"], np.uint8), cv2.IMREAD_COLOR)
    assert img is not None and img.shape == (240, 320, 3)


@pytest.mark.parametrize("name", list(CORRUPT))
def test_bad_input_raises_decode_error(name: str) -> None:
    decoder = JpegDecoder()
    data = CORRUPT[name]
    with pytest.raises(DecodeError):
        decoder.decode_yuv420(data)
    with pytest.raises(DecodeError):
        decoder.decode_bgr(data)


@pytest.mark.parametrize("name", ["garbage", "SOI then garbage", "empty", "PNG", "plain text"])
def test_size_of_non_jpeg_raises_decode_error(name: str) -> None:
    with pytest.raises(DecodeError):
        JpegDecoder().size(CORRUPT[name])


@pytest.mark.parametrize("start", [0.1, 0.3, 0.5, 0.7, 0.9])
def test_overwritten_scan_data_is_rejected(source: np.ndarray, start: float) -> None:
    # A burst of noise in the entropy-coded data (as a radio glitch or a lost DMA chunk
    # leaves it) desynchronises the Huffman decoder; libjpeg-turbo notices at the end of
    # the scan and the decoder must refuse the frame.
    good = encode(source, "420", quality=90)
    first, last = scan_bounds(good)
    at = first + int((last - first) * start)
    bad = bytearray(good)
    bad[at : at + 32] = np.random.default_rng(at).integers(0, 256, 32, dtype=np.uint8).tobytes()
    with pytest.raises(DecodeError):
        JpegDecoder().decode_yuv420(bytes(bad))


def test_decode_error_is_a_value_error() -> None:
    assert issubclass(DecodeError, ValueError)


def test_images_over_the_pixel_limit_are_refused(source: np.ndarray) -> None:
    data = encode(source)
    small = JpegDecoder(max_pixels=320 * 240 - 1)
    with pytest.raises(DecodeError):
        small.size(data)
    with pytest.raises(DecodeError):
        small.decode_yuv420(data)
    assert JpegDecoder(max_pixels=320 * 240).size(data) == (320, 240)
    with pytest.raises(ValueError):
        JpegDecoder(max_pixels=0)


def test_trailing_bytes_after_eoi_are_ignored(source: np.ndarray) -> None:
    # Camera drivers pad frames to their DMA block size after the end-of-image marker.
    data = encode(source)
    padded = data + b"\x00" * 300
    expected = planes(JpegDecoder().decode_yuv420(data))
    for got, want in zip(planes(JpegDecoder().decode_yuv420(padded)), expected, strict=True):
        assert np.array_equal(got, want)


def test_a_few_stray_bytes_before_a_marker_are_tolerated() -> None:
    # Webcams and camera modules pad restart intervals; libjpeg warns, the picture is whole.
    img = np.zeros((240, 320, 3), np.uint8)
    img[:, :160] = (40, 200, 90)
    ok, enc = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_RST_INTERVAL, 4])
    assert ok
    data = enc.tobytes()
    at = data.find(b"\xff\xd0")
    padded = data[:at] + b"\x55" + data[at:]
    dec = JpegDecoder()
    assert np.array_equal(dec.decode_bgr(padded), dec.decode_bgr(data))
    # Many stray bytes are more likely damage: still refused.
    with pytest.raises(DecodeError, match="extraneous"):
        dec.decode_bgr(data[:at] + b"\x55" * 40 + data[at:])
