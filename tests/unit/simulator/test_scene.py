"""The simulated picture: sensor effects apply, the frame code stays readable."""

from __future__ import annotations

import cv2
import numpy as np

from relay.simulator import SimulatedCamera
from relay.simulator.scene import RenderSettings, SceneRenderer
from relay.video import framecode

from .wire import (
    decode,
    get,
)


async def test_effects_visibly_apply(cam: SimulatedCamera) -> None:
    await get(cam, "/control?var=special_effect&val=2")
    img = decode((await get(cam, "/capture"))[1]).astype(np.int16)
    chroma = np.abs(img[..., 0] - img[..., 2]).mean() + np.abs(img[..., 1] - img[..., 2]).mean()
    assert chroma < 3, chroma
    await get(cam, "/control?var=special_effect&val=0")
    img = decode((await get(cam, "/capture"))[1]).astype(np.int16)
    assert np.abs(img[..., 0] - img[..., 2]).mean() > 10


def test_mirror_and_flip_apply_below_the_code() -> None:
    renderer = SceneRenderer()
    wall = 1_700_000_000.25
    plain = renderer.image(RenderSettings(), wall, 7)
    bh = framecode.block_height(800)
    rows = slice(bh, 600 - bh)  # the code is drawn after flipping: leave out both bands
    for settings, flip in [
        (RenderSettings(hmirror=True), 1),
        (RenderSettings(vflip=True), 0),
        (RenderSettings(hmirror=True, vflip=True), -1),
    ]:
        img = renderer.image(settings, wall, 7)
        expected = cv2.flip(plain, flip)
        assert np.array_equal(img[rows], expected[rows])
        assert not np.array_equal(img[rows], plain[rows])
        # The code itself is never mirrored: it still reads.
        assert framecode.read_code(img) == (int(wall * 1000) % 2**32, 7)


def test_the_plain_scene_is_a_flat_background_and_a_moving_box() -> None:
    import numpy as np
    import pytest
    import simplejpeg

    from relay.simulator.options import SimulatorOptions
    from relay.simulator.scene import SceneRenderer
    from relay.simulator.sensor import SensorState
    from relay.video.framecode import read_code

    settings = SensorState(SimulatorOptions()).render_settings()
    plain, camera = SceneRenderer(scene="plain"), SceneRenderer()
    a, b = plain.render(settings, 1000.0, 7), plain.render(settings, 1001.0, 8)
    assert len(a) < len(camera.render(settings, 1000.0, 7)) / 2  # much less detail
    first = simplejpeg.decode_jpeg(a, colorspace="GRAY")[:, :, 0]
    second = simplejpeg.decode_jpeg(b, colorspace="GRAY")[:, :, 0]
    assert first.shape == (600, 800)
    assert read_code(np.ascontiguousarray(first))[1] == 7
    assert read_code(np.ascontiguousarray(second))[1] == 8
    body = slice(100, 600)
    assert np.abs(first[body].astype(int) - second[body].astype(int)).max() > 50  # it moved
    assert np.median(first[body]) == pytest.approx(96, abs=3)  # the flat background
    with pytest.raises(ValueError, match="scene must be one of camera, plain"):
        SceneRenderer(scene="beach")
