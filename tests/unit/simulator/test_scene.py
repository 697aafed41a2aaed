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
