"""The frame code: layout, round trips, and survival through JPEG and VP8."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay.routes.assets import web_root
from relay.simulator.scene import RenderSettings, SceneRenderer
from relay.testing.env import skip_or_fail
from relay.video import framecode
from relay.video.framecode import BLOCKS, block_height, draw_code, read_code


def test_layout_matches_the_documented_blocks() -> None:
    width, height = 800, 600
    img = np.full((height, width), 77, np.uint8)
    # Alternating bits: time 0xAAAAAAAA, counter 0xAAAA -> 1,0,1,0,... from block 0.
    draw_code(img, 0xAAAAAAAA, 0xAAAA)
    bh = block_height(width)
    assert bh == 16
    for i in range(BLOCKS):
        x0, x1 = i * width // 48, (i + 1) * width // 48
        expected = 255 if i % 2 == 0 else 0
        assert (img[0:bh, x0:x1] == expected).all(), i
    # Nothing below the code row is touched.
    assert (img[bh:] == 77).all()


def test_msb_first_time_then_counter() -> None:
    img = np.zeros((240, 320), np.uint8)
    draw_code(img, 1 << 31, 1)
    bits = framecode.read_bits(img)
    assert bits[0] == 1 and sum(bits[1:32]) == 0
    assert bits[47] == 1 and sum(bits[32:47]) == 0


def test_small_images_use_the_minimum_height() -> None:
    assert block_height(96) == 8
    assert block_height(320) == 8
    assert block_height(1600) == 33


@pytest.mark.parametrize("width,height", [(96, 96), (320, 240), (333, 201), (800, 600)])
def test_round_trip_gray_and_bgr(width: int, height: int) -> None:
    for send_ms, counter in [(0, 0), (2**32 - 1, 65535), (1234567890, 4321)]:
        gray = np.full((height, width), 128, np.uint8)
        draw_code(gray, send_ms, counter)
        assert read_code(gray) == (send_ms, counter)
        bgr = np.full((height, width, 3), 90, np.uint8)
        draw_code(bgr, send_ms, counter)
        assert read_code(bgr) == (send_ms, counter)


def test_values_are_reduced_modulo_their_width() -> None:
    img = np.zeros((100, 480), np.uint8)
    draw_code(img, 2**32 + 5, 65536 + 7)
    assert read_code(img) == (5, 7)


@settings(max_examples=60, deadline=None)
@given(
    send_ms=st.integers(0, 2**32 - 1),
    counter=st.integers(0, 65535),
    width=st.integers(48, 1700),
)
def test_round_trip_any_value_any_width(send_ms: int, counter: int, width: int) -> None:
    img = np.random.default_rng(width).integers(0, 256, (max(8, width // 48) + 3, width, 3))
    img = img.astype(np.uint8)
    draw_code(img, send_ms, counter)
    assert read_code(img) == (send_ms, counter)


def test_too_narrow_is_an_error() -> None:
    with pytest.raises(ValueError):
        draw_code(np.zeros((10, 40), np.uint8), 1, 1)
    with pytest.raises(ValueError):
        read_code(np.zeros((10, 40), np.uint8))


def test_elapsed_handles_the_wrap() -> None:
    assert framecode.elapsed_ms(2**32 - 10, 5) == 15
    assert framecode.elapsed_ms(100, 90) == -10
    assert 0 <= framecode.elapsed_ms(framecode.now_ms()) < 1000


def _scene(width: int, height: int, wall: float, counter: int) -> np.ndarray:
    # The simulator's own scene: realistic content right under the code.
    return SceneRenderer().image(RenderSettings(width=width, height=height), wall, counter)


@pytest.mark.parametrize("width,height", [(800, 600), (320, 240)])
def test_survives_jpeg_quality_60(width: int, height: int) -> None:
    wall = time.time()
    for counter in (0, 1, 40000, 65535):
        img = _scene(width, height, wall + counter, counter)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 60])
        assert ok
        gray = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
        assert gray is not None
        assert read_code(gray) == (int((wall + counter) * 1000) % 2**32, counter)


@pytest.mark.parametrize("width,height,bitrate", [(800, 600, 300_000), (320, 240, 100_000)])
def test_survives_vp8(width: int, height: int, bitrate: int) -> None:
    enc = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height, enc.pix_fmt = width, height, "yuv420p"
    enc.time_base = Fraction(1, 25)
    enc.bit_rate = bitrate
    # Realtime settings like a relay's: no look-ahead, fast, low bitrate.
    enc.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    dec = av.CodecContext.create("vp8", "r")
    wall = time.time()
    sent = {}
    decoded: list[tuple[int, int]] = []
    renderer = SceneRenderer()
    for i in range(40):
        t = wall + i / 25
        sent[i] = int(t * 1000) % 2**32
        img = renderer.image(RenderSettings(width=width, height=height), t, i)
        frame = av.VideoFrame.from_ndarray(img, format="bgr24")
        frame.pts = i
        for packet in enc.encode(frame):
            for out in dec.decode(packet):
                gray = out.to_ndarray(format="gray")
                assert gray.shape == (height, width)
                decoded.append(read_code(gray))
    for packet in enc.encode(None):
        for out in dec.decode(packet):
            decoded.append(read_code(out.to_ndarray(format="gray")))
    assert len(decoded) == 40
    assert decoded == [(sent[i], i) for i in range(40)]


def test_javascript_reader_agrees() -> None:
    """web/static/framecode.js, run by Node on the same decoded pixels as the Python reader."""
    node = shutil.which("node")
    if node is None:
        skip_or_fail("node is not installed")
    module = (web_root() / "static" / "framecode.js").as_uri()
    cases: list[dict[str, object]] = []
    expected: list[list[int]] = []
    for width, height, counter in [(320, 240, 513), (333, 201, 65535), (800, 600, 7)]:
        wall = 1_700_000_123.456 + counter
        img = _scene(width, height, wall, counter)
        decoded = cv2.imdecode(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 60])[1], 1)
        assert decoded is not None
        rgb = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
        rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
        cases.append({"w": width, "h": height, "data": rgba.ravel().tolist()})
        expected.append(list(read_code(decoded)))
        assert expected[-1] == [int(wall * 1000) % 2**32, counter]
    script = f"""
import {{ readFileSync }} from "node:fs";
import {{ readCode }} from "{module}";
const cases = JSON.parse(readFileSync(0, "utf8"));
const out = cases.map((c) => {{
  const ctx = {{ getImageData: (x, y, w, h) => ({{ data: c.data.slice(0, w * h * 4) }}) }};
  return readCode(ctx, c.w, c.h);
}});
console.log(JSON.stringify(out));
"""
    result = subprocess.run(
        [node, "--input-type=module", "-e", script],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == expected
